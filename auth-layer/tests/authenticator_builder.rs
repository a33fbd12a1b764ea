//! `AuthenticatorBuilder::authority`: one value for instance and tenant, as an app registration
//! shows it (MSAL's authority forms:
//! <https://learn.microsoft.com/en-us/entra/identity-platform/msal-client-application-configuration#authority>).

use auth_layer::{Authenticator, AuthenticatorError, BuildError, ValidationError};
use auth_testkit::{TokenBuilder, default_keyset, ids};

fn with_authority(authority: &str) -> Result<Authenticator, AuthenticatorError> {
    Authenticator::builder()
        .authority(authority)
        .client_id(ids::API_CLIENT_ID)
        .keys(default_keyset())
        .build()
}

#[tokio::test]
async fn an_authority_with_a_tenant_guid_accepts_that_tenant_only() {
    let auth = with_authority(&format!(
        "https://login.microsoftonline.com/{}/v2.0/",
        ids::TENANT_ID.to_ascii_uppercase()
    ))
    .unwrap();
    assert!(
        auth.authenticate(&TokenBuilder::delegated().sign())
            .await
            .is_ok()
    );
    let other = TokenBuilder::delegated()
        .tenant(ids::OTHER_TENANT_ID)
        .sign();
    assert!(matches!(
        auth.authenticate(&other).await,
        Err(ValidationError::TenantNotAllowed { .. })
    ));
}

#[tokio::test]
async fn an_organizations_authority_accepts_any_tenant() {
    for tenant in ["organizations", "common"] {
        let auth = with_authority(&format!("https://login.microsoftonline.com/{tenant}")).unwrap();
        let other = TokenBuilder::delegated()
            .tenant(ids::OTHER_TENANT_ID)
            .sign();
        assert!(auth.authenticate(&other).await.is_ok(), "{tenant}");
    }
}

#[test]
fn an_authority_that_is_not_instance_and_tenant_is_refused_at_build() {
    for authority in [
        "http://login.microsoftonline.com/organizations",
        "login.microsoftonline.com",
        "",
    ] {
        let err = with_authority(authority).unwrap_err();
        assert!(
            matches!(
                err,
                AuthenticatorError::Validator(BuildError::InvalidUrl(_))
            ),
            "{authority:?}: {err:?}"
        );
    }
}

#[test]
fn an_authority_naming_the_tenant_by_domain_is_refused_with_the_fix() {
    // Tokens carry the tenant's id in `tid` and `iss`, never its domain name.
    for tenant in ["contoso.onmicrosoft.com", "consumers"] {
        let err =
            with_authority(&format!("https://login.microsoftonline.com/{tenant}")).unwrap_err();
        assert!(
            matches!(&err, AuthenticatorError::Validator(BuildError::InvalidTenantId(t)) if t == tenant),
            "{err:?}"
        );
        assert!(err.to_string().contains("any_tenant()"), "{err}");
    }
}
