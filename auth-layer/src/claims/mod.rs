//! The claims of a validated access token, typed for what Entra APIs need.
//!
//! One concept per file, imported one way: `span.rs` (where a string lives in the claims'
//! text), `member.rs` (the claims the parser reads: one table), `scopes.rs` ([`Scopes`]),
//! `strs.rs` ([`Strs`], [`Groups`]) and `client.rs` (what a profile chooses) import nothing from
//! this file; `parse.rs` builds [`Claims`] from a verified payload and is the one child that uses
//! this file's types. Adding a plain string claim: one line in `member.rs`'s table, one accessor
//! here.

mod client;
mod member;
mod parse;
mod scopes;
mod span;
mod strs;

use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub(crate) use client::{AppPermissions, ClientClaim};
use member::{Member, Strings};
pub use scopes::Scopes;
use span::Span;
use strs::GroupsRepr;
pub use strs::{Groups, Strs, StrsIter};

/// Whether a user is present behind a token.
///
/// The validator's [`Profile`](crate::Profile) decides, on positive evidence only: each provider
/// has its own rule (see [`Profile`](crate::Profile) and the guide's security model), and a
/// token that no rule classifies is refused with [`ValidationError::Unclassified`](crate::ValidationError::Unclassified); it is never
/// defaulted to either kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A user signed in and a client acts for them (authorization code, On-Behalf-Of).
    Delegated,
    /// An application acts as itself (client credentials); no user.
    App,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Delegated => "delegated",
            TokenKind::App => "app",
        })
    }
}

/// The claims of a validated token.
///
/// The typed accessors cover what Entra APIs need; [`Claims::raw`], [`Claims::get`] and
/// [`Claims::deserialize`] reach every other claim.
///
/// String claims are not copied out of the token: they are ranges of the verified payload,
/// which the claims own (JSON strings with escapes are unescaped once, into the same buffer).
#[derive(Clone)]
pub struct Claims {
    /// The verified payload (JSON), then the unescaped copies of strings that had escapes.
    text: String,
    /// Where the payload ends in `text`.
    payload_len: u32,
    /// The elements of every list claim; a list is a range of this.
    lists: Vec<Span>,
    issuer: Span,
    /// A range of `lists`.
    audiences: Span,
    expires_at: f64,
    not_before: Option<f64>,
    issued_at: Option<f64>,
    /// The plain string claims (`tid`, `oid`, `azp`, … : `member.rs`).
    strings: Strings,
    scopes: Scopes,
    /// A range of `lists`.
    roles: Span,
    /// The claim that names the calling client, as the profile reads it (set by the profile,
    /// `Profile::classify`).
    client: Option<ClientClaim>,
    /// `scp` was present and non-empty.
    has_scp: bool,
    /// A range of `lists`.
    wids: Span,
    /// A range of `lists`.
    xms_cc: Span,
    groups: GroupsRepr,
    kind: TokenKind,
    /// Where an app-only token's permissions are (set by the profile, `Profile::classify`).
    app_permissions: AppPermissions,
    /// Which profile classified the token.
    profile: &'static str,
    key_id: Arc<str>,
    /// `nonce`, `c_hash` or `at_hash` is present: an ID token's claims.
    pub(crate) id_token_claims: bool,
}

impl Claims {
    fn str(&self, span: Span) -> &str {
        &self.text[span.range()]
    }
    /// A plain string claim (see `member.rs`).
    fn string(&self, member: Member) -> Option<&str> {
        self.strings.get(member).map(|s| self.str(s))
    }
    fn list(&self, range: Span) -> Strs<'_> {
        Strs {
            text: &self.text,
            spans: &self.lists[range.range()],
        }
    }
    fn payload(&self) -> &str {
        &self.text[..self.payload_len as usize]
    }

    /// `iss`: who issued the token.
    pub fn issuer(&self) -> &str {
        self.str(self.issuer)
    }
    /// `aud`: the audiences (a string `aud` becomes one element).
    pub fn audiences(&self) -> Strs<'_> {
        self.list(self.audiences)
    }
    /// `exp` in Unix seconds (fractions allowed by RFC 7519).
    pub fn expires_at(&self) -> f64 {
        self.expires_at
    }
    /// `nbf` in Unix seconds.
    pub fn not_before(&self) -> Option<f64> {
        self.not_before
    }
    /// `iat` in Unix seconds.
    pub fn issued_at(&self) -> Option<f64> {
        self.issued_at
    }
    /// `tid`: the Entra tenant.
    pub fn tenant_id(&self) -> Option<&str> {
        self.string(Member::Tid)
    }
    /// `oid`: the user's (or service principal's) object id, the same across apps in a tenant.
    pub fn object_id(&self) -> Option<&str> {
        self.string(Member::Oid)
    }
    /// `sub`: the subject (pairwise per app in Entra; use `oid` to identify users across apps).
    pub fn subject(&self) -> Option<&str> {
        self.string(Member::Sub)
    }
    /// `name`: the user's display name (delegated tokens).
    pub fn name(&self) -> Option<&str> {
        self.string(Member::Name)
    }
    /// `preferred_username` (v2 tokens).
    pub fn preferred_username(&self) -> Option<&str> {
        self.string(Member::PreferredUsername)
    }
    /// `upn` (v1 tokens).
    pub fn upn(&self) -> Option<&str> {
        self.string(Member::Upn)
    }
    /// The user name to show: `preferred_username`, else `upn`. Never use it for authorization
    /// (it is mutable); use [`Claims::object_id`].
    pub fn username(&self) -> Option<&str> {
        self.preferred_username().or(self.upn())
    }
    /// Delegated permissions (`scp`, or `scope`).
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }
    /// `roles`: application permissions (app-only tokens) or app roles assigned to the user.
    pub fn roles(&self) -> Strs<'_> {
        self.list(self.roles)
    }
    /// Whether `roles` contains `role` (exact match).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().contains(role)
    }
    /// The calling client application, as the validator's [`Profile`](crate::Profile) reads
    /// it: Entra `azp` (v2) or `appid` (v1), RFC 9068 `client_id`, Okta `cid`, Auth0 and
    /// Keycloak `azp`.
    pub fn client_id(&self) -> Option<&str> {
        self.string(self.client?.member())
    }
    /// How the client authenticated: `azpacr` (v2) or `appidacr` (v1): `0` public client,
    /// `1` secret, `2` certificate or federated credential.
    pub fn client_auth_method(&self) -> Option<&str> {
        self.string(Member::Azpacr)
            .or_else(|| self.string(Member::Appidacr))
    }
    /// `ver`: `1.0` or `2.0`.
    pub fn version(&self) -> Option<&str> {
        self.string(Member::Ver)
    }
    /// `uti`: Entra's token identifier (for correlation, not for replay detection).
    pub fn uti(&self) -> Option<&str> {
        self.string(Member::Uti)
    }
    /// `idtyp`: `app` or `user` when the optional claim is configured.
    pub fn idtyp(&self) -> Option<&str> {
        self.string(Member::Idtyp)
    }
    /// `wids`: the user's tenant-wide directory roles (template ids).
    pub fn wids(&self) -> Strs<'_> {
        self.list(self.wids)
    }
    /// `xms_cc`: client capabilities (e.g. `cp1` for Conditional Access claims challenges).
    pub fn client_capabilities(&self) -> Strs<'_> {
        self.list(self.xms_cc)
    }
    /// Group membership, with overage reported as such.
    pub fn groups(&self) -> Groups<'_> {
        match self.groups {
            GroupsRepr::NotIssued => Groups::NotIssued,
            GroupsRepr::Listed(range) => Groups::Listed(self.list(range)),
            GroupsRepr::Overage => Groups::Overage,
        }
    }
    /// Delegated (user present) or app-only; see [`TokenKind`] for the rule.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }
    /// The name of the [`Profile`](crate::Profile) that classified the token (`entra`,
    /// `rfc9068`, `okta`, `auth0`, `keycloak` or a custom profile's name).
    pub fn profile(&self) -> &str {
        self.profile
    }
    /// Whether the token grants `permission`, whatever the provider calls it: a delegated
    /// token's scopes (`scp` / `scope`); an app-only token's application permissions, which are
    /// `roles` for Entra and the `scope` (or Okta's `scp`) for RFC 9068-style providers (a
    /// custom profile reads both).
    pub fn has_permission(&self, permission: &str) -> bool {
        self.permissions().any(|p| p == permission)
    }
    /// The permissions [`has_permission`](Self::has_permission) reads, in token order.
    pub fn permissions(&self) -> impl Iterator<Item = &str> {
        let (scopes, roles) = match (self.kind, self.app_permissions) {
            (TokenKind::Delegated, _) | (TokenKind::App, AppPermissions::Scopes) => (true, false),
            (TokenKind::App, AppPermissions::Roles) => (false, true),
            (TokenKind::App, AppPermissions::RolesAndScopes) => (true, true),
        };
        let scopes = scopes.then(|| self.scopes.iter());
        let roles = roles.then(|| self.roles().iter());
        roles
            .into_iter()
            .flatten()
            .chain(scopes.into_iter().flatten())
    }
    /// The `kid` (or `x5t`) of the key that verified the token.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Every claim, as JSON (parsed on demand from the verified payload).
    pub fn raw(&self) -> Map<String, Value> {
        // The payload passed the strict parser as a JSON object, so this cannot fail; an empty
        // map is returned rather than panicking if that invariant were ever broken.
        serde_json::from_str(self.payload()).unwrap_or_default()
    }

    /// One claim by name, as JSON.
    pub fn get(&self, name: &str) -> Option<Value> {
        self.raw().remove(name)
    }

    /// Deserializes all claims into the caller's own type.
    ///
    /// # Errors
    /// When the claims do not fit `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.payload())
    }
}

impl fmt::Debug for Claims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Claims")
            .field("kind", &self.kind)
            .field("profile", &self.profile)
            .field("issuer", &self.issuer())
            .field("audiences", &self.audiences())
            .field("tenant_id", &self.tenant_id())
            .field("object_id", &self.object_id())
            .field("client_id", &self.client_id())
            .field("scopes", &self.scopes)
            .field("roles", &self.roles())
            .field("expires_at", &self.expires_at)
            .field("key_id", &self.key_id())
            .finish_non_exhaustive()
    }
}

/// What classification reads and sets; only the validator's profiles use it.
impl Claims {
    pub(crate) fn client_claim(&self, which: ClientClaim) -> Option<&str> {
        self.string(which.member())
    }
    /// Okta's `uid` (the user's id; user tokens only).
    pub(crate) fn uid(&self) -> Option<&str> {
        self.string(Member::Uid)
    }
    /// Auth0's `gty` (grant type).
    pub(crate) fn gty(&self) -> Option<&str> {
        self.string(Member::Gty)
    }
    /// `scp` is present and non-empty.
    pub(crate) fn has_scp(&self) -> bool {
        self.has_scp
    }
    /// Sets the calling client to the value of `which` (none when it is absent).
    pub(crate) fn set_client(&mut self, which: Option<ClientClaim>) {
        self.client = which;
    }
    /// Records the profile's verdict.
    pub(crate) fn set_kind(
        &mut self,
        kind: TokenKind,
        app_permissions: AppPermissions,
        profile: &'static str,
    ) {
        self.kind = kind;
        self.app_permissions = app_permissions;
        self.profile = profile;
    }
}
