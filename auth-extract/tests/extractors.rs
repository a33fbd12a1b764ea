//! The extractors at the HTTP level: an axum router, requests through `oneshot`, and the
//! status codes and RFC 6750 challenges that come back.

use auth_extract::{
    AppPrincipal, AuthRejection, Authenticated, Caller, CustomClaims, CustomClaimsRejection,
    DelegatedUser, Role, Scope, role, scope,
};
use auth_layer::{AuthenticateLayer, Authenticator, AuthenticatorStats, TokenKind};
use auth_testkit::{TestKey, TokenBuilder, default_keyset, ids};
use axum::Router;
use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use axum_core::extract::FromRequestParts;
use axum_core::response::IntoResponse;
use http::{Request, StatusCode};
use tower::ServiceExt;

scope!(CaseCreate = "Case.Create");
role!(FilesWrite = "Files.Write");

fn authenticator() -> Authenticator {
    Authenticator::builder()
        .tenant_id(ids::TENANT_ID)
        .client_id(ids::API_CLIENT_ID)
        .audience(ids::API_APP_ID_URI)
        .keys(default_keyset())
        .build()
        .unwrap()
}

fn request(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut req = Request::get(uri);
    if let Some(token) = token {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    req.body(Body::empty()).unwrap()
}

async fn send(app: &Router, uri: &str, token: Option<&str>) -> Response {
    app.clone().oneshot(request(uri, token)).await.unwrap()
}

async fn text(res: Response) -> String {
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn www(res: &Response) -> &str {
    res.headers()["www-authenticate"].to_str().unwrap()
}

/// Every extractor on its own route; the state provides the authenticator.
fn app(auth: &Authenticator) -> Router {
    Router::new()
        .route(
            "/user",
            get(|user: DelegatedUser| async move {
                format!(
                    "{}|{}|{}|{}|{}|{}",
                    user.object_id().unwrap_or("-"),
                    user.tenant_id().unwrap_or("-"),
                    user.name().unwrap_or("-"),
                    user.username().unwrap_or("-"),
                    user.client_id().unwrap_or("-"),
                    user.scopes().iter().collect::<Vec<_>>().join(" "),
                )
            }),
        )
        .route(
            "/app",
            get(|app: AppPrincipal| async move {
                format!(
                    "{}|{}|{}|{}",
                    app.client_id().unwrap_or("-"),
                    app.object_id().unwrap_or("-"),
                    app.tenant_id().unwrap_or("-"),
                    app.roles().join(" "),
                )
            }),
        )
        .route(
            "/caller",
            get(|caller: Caller| async move {
                match caller {
                    Caller::User(user) => format!("user {}", user.object_id().unwrap_or("-")),
                    Caller::App(app) => format!("app {}", app.object_id().unwrap_or("-")),
                }
            }),
        )
        .route(
            "/principal",
            get(|Authenticated(p): Authenticated| async move { p.kind().to_string() }),
        )
        .route(
            "/cases",
            get(|user: Scope<CaseCreate>| async move {
                format!("{} {}", user.scope_name(), user.object_id().unwrap_or("-"))
            }),
        )
        .route(
            "/files",
            get(|app: Role<FilesWrite>| async move {
                format!("{} {}", app.role_name(), app.client_id().unwrap_or("-"))
            }),
        )
        .route(
            "/maybe-user",
            get(|user: Option<DelegatedUser>| async move {
                match user {
                    Some(user) => format!("some {}", user.object_id().unwrap_or("-")),
                    None => "none".to_owned(),
                }
            }),
        )
        .route(
            "/maybe-caller",
            get(|caller: Option<Caller>| async move {
                match caller {
                    Some(caller) => format!("some {}", caller.kind()),
                    None => "none".to_owned(),
                }
            }),
        )
        .route(
            "/maybe-cases",
            get(|user: Option<Scope<CaseCreate>>| async move {
                if user.is_some() { "some" } else { "none" }
            }),
        )
        .route(
            "/employee",
            get(|CustomClaims(e): CustomClaims<Employee>| async move {
                format!("{} {} {}", e.oid, e.employee_id, e.level)
            }),
        )
        .route(
            "/maybe-employee",
            get(|e: Option<CustomClaims<Employee>>| async move {
                match e {
                    Some(CustomClaims(e)) => format!("some {}", e.employee_id),
                    None => "none".to_owned(),
                }
            }),
        )
        .route(
            "/two",
            get(|user: DelegatedUser, caller: Caller| async move {
                assert_eq!(user.object_id(), caller.object_id());
                "ok"
            }),
        )
        .route(
            "/three",
            get(
                |user: DelegatedUser,
                 _scope: Scope<CaseCreate>,
                 CustomClaims(e): CustomClaims<Employee>| async move {
                    format!("{} {}", user.object_id().unwrap_or("-"), e.employee_id)
                },
            ),
        )
        .with_state(auth.clone())
}

#[derive(serde::Deserialize)]
struct Employee {
    oid: String,
    employee_id: String,
    level: u8,
}

fn stats(full_validations: u64, cache_hits: u64, auth: &Authenticator) -> bool {
    let s: AuthenticatorStats = auth.stats();
    s.full_validations == full_validations && s.cache_hits == cache_hits
}

// ---- 401 / 400: no caller ----------------------------------------------------------------

#[tokio::test]
async fn no_token_is_401_with_a_bare_bearer_challenge() {
    let auth = authenticator();
    let app = app(&auth);
    for uri in [
        "/user",
        "/app",
        "/caller",
        "/principal",
        "/cases",
        "/files",
        "/employee",
    ] {
        let res = send(&app, uri, None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(www(&res), "Bearer", "{uri}");
    }
    assert!(stats(0, 0, &auth));
}

#[tokio::test]
async fn another_scheme_is_no_credentials() {
    let app = app(&authenticator());
    let req = Request::get("/user")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(www(&res), "Bearer");
}

#[tokio::test]
async fn expired_token_is_401_invalid_token() {
    let auth = authenticator();
    let app = app(&auth);
    let token = TokenBuilder::delegated()
        .issued_at(auth_testkit::now() - 7200)
        .expires_in(3600)
        .sign();
    for uri in ["/user", "/app", "/caller", "/cases", "/employee"] {
        let res = send(&app, uri, Some(&token)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{uri}");
        assert!(www(&res).contains("error=\"invalid_token\""), "{uri}");
    }
}

#[tokio::test]
async fn token_of_another_tenant_is_401_invalid_token() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated()
        .tenant(ids::OTHER_TENANT_ID)
        .sign();
    let res = send(&app, "/user", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(www(&res).starts_with("Bearer error=\"invalid_token\""));
}

#[tokio::test]
async fn token_signed_by_an_untrusted_key_is_401_invalid_token() {
    let app = app(&authenticator());
    let token = TokenBuilder::app().key(TestKey::rsa_untrusted()).sign();
    let res = send(&app, "/app", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(www(&res).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn two_authorization_headers_are_400_invalid_request() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated().sign();
    let req = Request::get("/user")
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(www(&res).contains("error=\"invalid_request\""));
}

#[tokio::test]
async fn token_in_the_query_string_is_400_invalid_request() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated().sign();
    let res = send(&app, &format!("/maybe-user?access_token={token}"), None).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(www(&res).contains("error=\"invalid_request\""));
}

// ---- 403: wrong kind ---------------------------------------------------------------------

#[tokio::test]
async fn app_token_to_delegated_user_is_403_without_a_scope_parameter() {
    let app = app(&authenticator());
    let res = send(&app, "/user", Some(&TokenBuilder::app().sign())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www(&res),
        "Bearer error=\"insufficient_scope\", error_description=\"this route needs a token issued to a signed-in user; an application's own token is not accepted\""
    );
}

#[tokio::test]
async fn delegated_token_to_app_principal_is_403() {
    let app = app(&authenticator());
    let res = send(&app, "/app", Some(&TokenBuilder::delegated().sign())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www(&res),
        "Bearer error=\"insufficient_scope\", error_description=\"this route needs an application's own token; a token issued to a signed-in user is not accepted\""
    );
}

#[tokio::test]
async fn delegated_token_with_app_roles_is_still_not_an_app_principal() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated().roles(["Files.Write"]).sign();
    assert_eq!(
        send(&app, "/app", Some(&token)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&app, "/files", Some(&token)).await.status(),
        StatusCode::FORBIDDEN
    );
}

// ---- typed guards ------------------------------------------------------------------------

#[tokio::test]
async fn scope_guard_without_the_scope_is_403_naming_the_scope() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated().scopes("Case.Read").sign();
    let res = send(&app, "/cases", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www(&res),
        "Bearer error=\"insufficient_scope\", error_description=\"the token lacks a required scope\", scope=\"Case.Create\""
    );
}

#[tokio::test]
async fn scope_guard_with_the_scope_admits_the_user() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated()
        .scopes("Case.Read Case.Create")
        .sign();
    let res = send(&app, "/cases", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(text(res).await, format!("Case.Create {}", ids::USER_OID));
}

#[tokio::test]
async fn scope_guard_compares_scopes_case_sensitively() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated().scopes("case.create").sign();
    assert_eq!(
        send(&app, "/cases", Some(&token)).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn scope_guard_refuses_app_tokens_naming_the_scope() {
    let app = app(&authenticator());
    // Even an app token that (oddly) carries the scope name as a role.
    let token = TokenBuilder::app().roles(["Case.Create"]).sign();
    let res = send(&app, "/cases", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let challenge = www(&res);
    assert!(
        challenge.contains("needs a token issued to a signed-in user"),
        "{challenge}"
    );
    assert!(challenge.ends_with("scope=\"Case.Create\""), "{challenge}");
}

#[tokio::test]
async fn role_guard_without_the_role_is_403_naming_the_role() {
    let app = app(&authenticator());
    let token = TokenBuilder::app().roles(["Files.Read"]).sign();
    let res = send(&app, "/files", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        www(&res),
        "Bearer error=\"insufficient_scope\", error_description=\"the token lacks a required role\", scope=\"Files.Write\""
    );
}

#[tokio::test]
async fn role_guard_with_the_role_admits_the_app() {
    let app = app(&authenticator());
    let res = send(&app, "/files", Some(&TokenBuilder::app().sign())).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        text(res).await,
        format!("Files.Write {}", ids::CLIENT_APP_ID)
    );
}

#[tokio::test]
async fn role_guard_refuses_delegated_tokens_naming_the_role() {
    let app = app(&authenticator());
    let res = send(&app, "/files", Some(&TokenBuilder::delegated().sign())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let challenge = www(&res);
    assert!(
        challenge.contains("needs an application's own token"),
        "{challenge}"
    );
    assert!(challenge.ends_with("scope=\"Files.Write\""), "{challenge}");
}

// ---- identities --------------------------------------------------------------------------

#[tokio::test]
async fn delegated_user_fields_match_the_token() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated()
        .scopes("Case.Read Case.Create")
        .sign();
    let res = send(&app, "/user", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        text(res).await,
        format!(
            "{}|{}|{}|{}|{}|Case.Read Case.Create",
            ids::USER_OID,
            ids::TENANT_ID,
            ids::USER_NAME,
            ids::USER_UPN,
            ids::CLIENT_APP_ID
        )
    );
}

#[tokio::test]
async fn v1_token_username_is_the_upn() {
    let app = app(&authenticator());
    let claims = TokenBuilder::delegated().v1().claims_json();
    assert!(claims.get("preferred_username").is_none());
    let res = send(&app, "/user", Some(&TokenBuilder::delegated().v1().sign())).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body = text(res).await;
    let fields: Vec<&str> = body.split('|').collect();
    assert_eq!(fields[3], ids::USER_UPN);
    assert_eq!(fields[4], ids::CLIENT_APP_ID, "appid is the client id");
}

#[tokio::test]
async fn app_principal_fields_match_the_token() {
    let app = app(&authenticator());
    let token = TokenBuilder::app()
        .roles(["Files.Write", "Files.Read"])
        .sign();
    let res = send(&app, "/app", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        text(res).await,
        format!(
            "{}|{}|{}|Files.Write Files.Read",
            ids::CLIENT_APP_ID,
            ids::APP_OID,
            ids::TENANT_ID
        )
    );
}

#[tokio::test]
async fn v1_app_token_client_id_is_the_appid() {
    let app = app(&authenticator());
    let res = send(&app, "/app", Some(&TokenBuilder::app().v1().sign())).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(text(res).await.starts_with(ids::CLIENT_APP_ID));
}

#[tokio::test]
async fn caller_is_a_user_or_an_app_by_token_kind() {
    let app = app(&authenticator());
    let user = send(&app, "/caller", Some(&TokenBuilder::delegated().sign())).await;
    assert_eq!(text(user).await, format!("user {}", ids::USER_OID));
    let svc = send(&app, "/caller", Some(&TokenBuilder::app().sign())).await;
    assert_eq!(text(svc).await, format!("app {}", ids::APP_OID));
}

#[tokio::test]
async fn authenticated_gives_the_principal_of_either_kind() {
    let app = app(&authenticator());
    let user = send(&app, "/principal", Some(&TokenBuilder::delegated().sign())).await;
    assert_eq!(text(user).await, TokenKind::Delegated.to_string());
    let svc = send(&app, "/principal", Some(&TokenBuilder::app().sign())).await;
    assert_eq!(text(svc).await, TokenKind::App.to_string());
}

// ---- Option<…> ---------------------------------------------------------------------------

#[tokio::test]
async fn optional_delegated_user_without_a_token_is_none() {
    let app = app(&authenticator());
    let res = send(&app, "/maybe-user", None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(text(res).await, "none");
}

#[tokio::test]
async fn optional_delegated_user_with_a_token_is_some() {
    let app = app(&authenticator());
    let res = send(&app, "/maybe-user", Some(&TokenBuilder::delegated().sign())).await;
    assert_eq!(text(res).await, format!("some {}", ids::USER_OID));
}

#[tokio::test]
async fn optional_delegated_user_with_an_invalid_token_is_still_401() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated().expires_in(-600).sign();
    let res = send(&app, "/maybe-user", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(www(&res).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn optional_delegated_user_with_an_app_token_is_still_403() {
    let app = app(&authenticator());
    let res = send(&app, "/maybe-user", Some(&TokenBuilder::app().sign())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn optional_scope_guard_is_none_without_a_token_and_403_without_the_scope() {
    let app = app(&authenticator());
    assert_eq!(text(send(&app, "/maybe-cases", None).await).await, "none");
    let lacking = TokenBuilder::delegated().sign();
    assert_eq!(
        send(&app, "/maybe-cases", Some(&lacking)).await.status(),
        StatusCode::FORBIDDEN
    );
    let granted = TokenBuilder::delegated().scopes("Case.Create").sign();
    assert_eq!(
        text(send(&app, "/maybe-cases", Some(&granted)).await).await,
        "some"
    );
}

#[tokio::test]
async fn optional_caller_accepts_anonymous_users_and_apps() {
    let app = app(&authenticator());
    assert_eq!(text(send(&app, "/maybe-caller", None).await).await, "none");
    let svc = send(&app, "/maybe-caller", Some(&TokenBuilder::app().sign())).await;
    assert_eq!(text(svc).await, "some app");
}

// ---- CustomClaims<T> ---------------------------------------------------------------------------

#[tokio::test]
async fn claims_extractor_deserializes_a_custom_type() {
    let app = app(&authenticator());
    let token = TokenBuilder::delegated()
        .claim("employee_id", "E-1024")
        .claim("level", 3)
        .sign();
    let res = send(&app, "/employee", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(text(res).await, format!("{} E-1024 3", ids::USER_OID));
}

#[tokio::test]
async fn claims_that_do_not_fit_the_type_are_403_without_disclosing_them() {
    let app = app(&authenticator());
    for token in [
        TokenBuilder::delegated().claim("level", 3).sign(),
        TokenBuilder::delegated()
            .claim("employee_id", "E-1024")
            .claim("level", "secret-value")
            .sign(),
    ] {
        let res = send(&app, "/employee", Some(&token)).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            www(&res),
            "Bearer error=\"insufficient_scope\", error_description=\"the token lacks claims this route needs\""
        );
        assert!(text(res).await.is_empty());
    }
}

#[tokio::test]
async fn optional_claims_without_a_token_are_none_and_with_a_mismatch_403() {
    let app = app(&authenticator());
    assert_eq!(
        text(send(&app, "/maybe-employee", None).await).await,
        "none"
    );
    let token = TokenBuilder::delegated().sign();
    assert_eq!(
        send(&app, "/maybe-employee", Some(&token)).await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn claims_rejection_reports_the_missing_claim_for_logs() {
    let auth = authenticator();
    let token = TokenBuilder::delegated().claim("level", 3).sign();
    let (mut parts, ()) = request("/", Some(&token)).map(|_| ()).into_parts();
    let rejection = CustomClaims::<Employee>::from_request_parts(&mut parts, &auth)
        .await
        .err()
        .unwrap();
    let CustomClaimsRejection::Mismatch(mismatch) = &rejection else {
        panic!("expected a mismatch, got {rejection:?}");
    };
    assert_eq!(mismatch.detail(), "missing field `employee_id`");
    assert_eq!(rejection.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        rejection.body_text(),
        "the token lacks claims this route needs"
    );
}

// ---- validated once per request ----------------------------------------------------------

#[tokio::test]
async fn extractor_only_validation_runs_once_for_two_extractors() {
    let auth = authenticator();
    let app = app(&auth);
    let res = send(&app, "/two", Some(&TokenBuilder::delegated().sign())).await;
    assert_eq!(res.status(), StatusCode::OK);
    // One full validation, and the second extractor did not even consult the verified-token
    // cache: it found the principal in the request's extensions.
    assert!(stats(1, 0, &auth), "{:?}", auth.stats());
}

#[tokio::test]
async fn extractor_only_validation_runs_once_for_three_extractors() {
    let auth = authenticator();
    let app = app(&auth);
    let token = TokenBuilder::delegated()
        .scopes("Case.Create")
        .claim("employee_id", "E-7")
        .claim("level", 1)
        .sign();
    let res = send(&app, "/three", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(text(res).await, format!("{} E-7", ids::USER_OID));
    assert!(stats(1, 0, &auth), "{:?}", auth.stats());
}

#[tokio::test]
async fn behind_authenticate_layer_extractors_do_not_validate_again() {
    let auth = authenticator();
    let app = app(&auth).layer(AuthenticateLayer::new(auth.clone()));
    let token = TokenBuilder::delegated()
        .scopes("Case.Create")
        .claim("employee_id", "E-7")
        .claim("level", 1)
        .sign();
    let res = send(&app, "/three", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    // The layer's validation is the only one: the extractors used its principal.
    assert!(stats(1, 0, &auth), "{:?}", auth.stats());
}

#[tokio::test]
async fn behind_an_optional_layer_anonymous_callers_reach_optional_extractors() {
    let auth = authenticator();
    let app = app(&auth).layer(AuthenticateLayer::optional(auth.clone()));
    assert_eq!(text(send(&app, "/maybe-user", None).await).await, "none");
    let res = send(&app, "/maybe-user", Some(&TokenBuilder::delegated().sign())).await;
    assert_eq!(text(res).await, format!("some {}", ids::USER_OID));
    assert!(stats(1, 0, &auth), "{:?}", auth.stats());
}

#[tokio::test]
async fn a_second_request_with_the_same_token_hits_the_verified_token_cache() {
    let auth = authenticator();
    let app = app(&auth);
    let token = TokenBuilder::delegated().sign();
    for _ in 0..2 {
        assert_eq!(
            send(&app, "/two", Some(&token)).await.status(),
            StatusCode::OK
        );
    }
    assert!(stats(1, 1, &auth), "{:?}", auth.stats());
}

// ---- the authenticator's challenge -------------------------------------------------------

#[tokio::test]
async fn wrong_kind_after_a_layer_is_refused_with_the_authenticators_challenge() {
    let auth = Authenticator::builder()
        .tenant_id(ids::TENANT_ID)
        .client_id(ids::API_CLIENT_ID)
        .keys(default_keyset())
        .realm("cases")
        .problem_json()
        .build()
        .unwrap();
    let app = app(&auth).layer(AuthenticateLayer::new(auth.clone()));
    let res = send(&app, "/user", Some(&TokenBuilder::app().sign())).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(www(&res).starts_with("Bearer realm=\"cases\", error=\"insufficient_scope\""));
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let doc: serde_json::Value = serde_json::from_str(&text(res).await).unwrap();
    assert_eq!(doc["status"], 403);
    assert_eq!(
        doc["detail"],
        "this route needs a token issued to a signed-in user; an application's own token is not accepted"
    );
}

#[tokio::test]
async fn rejection_status_and_body_text_match_the_response() {
    let auth = authenticator();
    let cases = [
        (None, StatusCode::UNAUTHORIZED, "a bearer token is required"),
        (
            Some(TokenBuilder::app().sign()),
            StatusCode::FORBIDDEN,
            "this route needs a token issued to a signed-in user; an application's own token is not accepted",
        ),
    ];
    for (token, status, body_text) in cases {
        let (mut parts, ()) = request("/", token.as_deref()).map(|_| ()).into_parts();
        let rejection: AuthRejection = DelegatedUser::from_request_parts(&mut parts, &auth)
            .await
            .unwrap_err();
        assert_eq!(rejection.status(), status);
        assert_eq!(rejection.body_text(), body_text);
        assert_eq!(rejection.into_response().status(), status);
    }
}

#[tokio::test]
async fn extractors_work_with_a_custom_state_that_provides_the_authenticator() {
    #[derive(Clone)]
    struct AppState {
        auth: Authenticator,
        greeting: &'static str,
    }
    impl axum::extract::FromRef<AppState> for Authenticator {
        fn from_ref(state: &AppState) -> Self {
            state.auth.clone()
        }
    }
    let auth = authenticator();
    let app =
        Router::new()
            .route(
                "/",
                get(
                    |axum::extract::State(s): axum::extract::State<AppState>,
                     user: DelegatedUser| async move {
                        format!("{} {}", s.greeting, user.name().unwrap_or("-"))
                    },
                ),
            )
            .with_state(AppState {
                auth: auth.clone(),
                greeting: "hello",
            });
    let res = send(&app, "/", Some(&TokenBuilder::delegated().sign())).await;
    assert_eq!(text(res).await, format!("hello {}", ids::USER_NAME));
}
