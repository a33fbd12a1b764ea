//! The claims of a validated access token, typed for what Entra APIs need.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{TokenPart, ValidationError};
use crate::json::{self, Captured, JsonError, Number};

/// Whether a user is present behind a token.
///
/// The validator's [`Profile`](crate::Profile) decides, on positive evidence only: each provider
/// has its own rule (see [`Profile`](crate::Profile) and the guide's security model), and a
/// token that no rule classifies is refused with [`ValidationError::Unclassified`]; it is never
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

/// Where a string lives in a [`Claims`]' text: a byte range, always on `char` boundaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The delegated permissions of a token: Entra's space-separated `scp` (or an array, as some
/// providers send), or RFC 9068's `scope`, parsed once into a duplicate-free list.
#[derive(Clone, Default)]
pub struct Scopes {
    list: ScopeList,
    len: usize,
}

/// How [`Scopes`] are stored: in one string when no scope has a space (always so for `scp` and
/// `scope` strings, which are split on spaces), else one string per scope.
#[derive(Clone)]
enum ScopeList {
    /// Distinct non-empty scopes without spaces, joined by single spaces (`""` for none).
    Spaced(String),
    /// Distinct non-empty scopes (an array form with a scope containing a space).
    Listed(Vec<String>),
}

impl Default for ScopeList {
    fn default() -> Self {
        ScopeList::Spaced(String::new())
    }
}

/// Joins the distinct non-empty `scopes` (none containing a space) with single spaces; returns
/// the text and how many scopes it holds.
fn join_distinct<'a>(scopes: impl Iterator<Item = &'a str>, capacity: usize) -> (String, usize) {
    let mut text = String::with_capacity(capacity);
    // Where the first scopes end in `text`, for a cheap duplicate check; past them, `text` is
    // split again.
    let mut ends = [0u32; 32];
    let mut len = 0;
    for scope in scopes {
        if scope.is_empty() {
            continue;
        }
        let seen = if len <= ends.len() {
            let mut start = 0;
            ends[..len].iter().any(|&end| {
                let seen = &text[start..end as usize];
                start = end as usize + 1;
                seen == scope
            })
        } else {
            text.split(' ').any(|seen| seen == scope)
        };
        if seen {
            continue;
        }
        if len > 0 {
            text.push(' ');
        }
        text.push_str(scope);
        if let Some(end) = ends.get_mut(len) {
            // At most the payload's length, which fits in u32 (checked by the parser).
            *end = text.len() as u32;
        }
        len += 1;
    }
    (text, len)
}

impl Scopes {
    fn parse_str(s: &str) -> Self {
        let (text, len) = join_distinct(s.split(' '), s.len());
        Scopes {
            list: ScopeList::Spaced(text),
            len,
        }
    }

    fn from_strs<'a>(v: impl Iterator<Item = &'a str> + Clone) -> Self {
        if v.clone().any(|scope| scope.contains(' ')) {
            let mut list: Vec<String> = Vec::new();
            for scope in v {
                if !scope.is_empty() && !list.iter().any(|seen| seen == scope) {
                    list.push(scope.to_owned());
                }
            }
            return Scopes {
                len: list.len(),
                list: ScopeList::Listed(list),
            };
        }
        let capacity = v.clone().map(|s| s.len() + 1).sum();
        let (text, len) = join_distinct(v, capacity);
        Scopes {
            list: ScopeList::Spaced(text),
            len,
        }
    }

    /// Whether `scope` is granted (exact, case-sensitive match, as Entra compares).
    pub fn contains(&self, scope: &str) -> bool {
        self.iter().any(|s| s == scope)
    }

    /// The scopes, in token order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (spaced, listed) = match &self.list {
            ScopeList::Spaced(text) if self.len > 0 => (Some(text.split(' ')), None),
            ScopeList::Spaced(_) => (None, None),
            ScopeList::Listed(list) => (None, Some(list.iter().map(String::as_str))),
        };
        spaced
            .into_iter()
            .flatten()
            .chain(listed.into_iter().flatten())
    }

    /// How many scopes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is no scope.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl PartialEq for Scopes {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for Scopes {}

impl fmt::Debug for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scopes")
            .field(&self.iter().collect::<Vec<_>>())
            .finish()
    }
}

/// A list of strings from a token's claims (`aud`, `roles`, `wids`, `groups`, `xms_cc`),
/// borrowed from the [`Claims`]: no allocation per element.
///
/// Iterate it, or use [`Strs::contains`], [`Strs::len`], [`Strs::get`]; it compares equal to
/// slices and arrays of strings.
#[derive(Clone, Copy)]
pub struct Strs<'a> {
    text: &'a str,
    spans: &'a [Span],
}

impl<'a> Strs<'a> {
    /// How many strings.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The string at `index`.
    pub fn get(&self, index: usize) -> Option<&'a str> {
        self.spans.get(index).map(|s| &self.text[s.range()])
    }

    /// The first string.
    pub fn first(&self) -> Option<&'a str> {
        self.get(0)
    }

    /// Whether the list contains `value` (exact match).
    pub fn contains(&self, value: &str) -> bool {
        self.iter().any(|s| s == value)
    }

    /// The strings, in token order.
    pub fn iter(&self) -> StrsIter<'a> {
        StrsIter {
            text: self.text,
            spans: self.spans.iter(),
        }
    }

    /// The strings joined with `separator`.
    pub fn join(&self, separator: &str) -> String {
        let mut out = String::new();
        for (i, s) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push_str(s);
        }
        out
    }

    /// The strings, owned.
    pub fn to_vec(&self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

impl fmt::Debug for Strs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl PartialEq<Strs<'_>> for Strs<'_> {
    fn eq(&self, other: &Strs<'_>) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Strs<'_> {}

impl<S: AsRef<str>> PartialEq<[S]> for Strs<'_> {
    fn eq(&self, other: &[S]) -> bool {
        self.iter().eq(other.iter().map(AsRef::as_ref))
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Strs<'_> {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Strs<'_> {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<'a> IntoIterator for Strs<'a> {
    type Item = &'a str;
    type IntoIter = StrsIter<'a>;
    fn into_iter(self) -> StrsIter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &Strs<'a> {
    type Item = &'a str;
    type IntoIter = StrsIter<'a>;
    fn into_iter(self) -> StrsIter<'a> {
        self.iter()
    }
}

/// The iterator of a [`Strs`].
#[derive(Clone, Debug)]
pub struct StrsIter<'a> {
    text: &'a str,
    spans: std::slice::Iter<'a, Span>,
}

impl<'a> Iterator for StrsIter<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        self.spans.next().map(|s| &self.text[s.range()])
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.spans.size_hint()
    }
}

impl DoubleEndedIterator for StrsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.spans.next_back().map(|s| &self.text[s.range()])
    }
}

impl ExactSizeIterator for StrsIter<'_> {}

impl std::iter::FusedIterator for StrsIter<'_> {}

/// The groups a token reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Groups<'a> {
    /// No `groups` claim and no overage marker: the app is not configured to receive groups.
    NotIssued,
    /// The `groups` claim, as issued.
    Listed(Strs<'a>),
    /// Too many groups to fit in the token: `_claim_names` (or `hasgroups`) is present and
    /// `groups` is absent. Query Microsoft Graph for the user's groups; never treat this as
    /// "member of no group".
    Overage,
}

/// [`Groups`] as stored: the list is a range of `Claims::lists`.
#[derive(Clone, Copy, Debug)]
enum GroupsRepr {
    NotIssued,
    Listed(Span),
    Overage,
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
    tenant_id: Option<Span>,
    object_id: Option<Span>,
    subject: Option<Span>,
    name: Option<Span>,
    preferred_username: Option<Span>,
    upn: Option<Span>,
    scopes: Scopes,
    /// A range of `lists`.
    roles: Span,
    /// The calling client, as the profile reads it (set by the profile, `Profile::classify`).
    client_id: Option<Span>,
    /// The claims that may name the client, for the profile to choose from.
    client_claims: ClientClaims,
    /// Okta's `uid` (the user's id; user tokens only).
    uid: Option<Span>,
    /// Auth0's `gty` (grant type).
    gty: Option<Span>,
    /// `scp` was present and non-empty.
    has_scp: bool,
    client_auth_method: Option<Span>,
    version: Option<Span>,
    uti: Option<Span>,
    idtyp: Option<Span>,
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
    fn opt(&self, span: Option<Span>) -> Option<&str> {
        span.map(|s| self.str(s))
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
        self.opt(self.tenant_id)
    }
    /// `oid`: the user's (or service principal's) object id, the same across apps in a tenant.
    pub fn object_id(&self) -> Option<&str> {
        self.opt(self.object_id)
    }
    /// `sub`: the subject (pairwise per app in Entra; use `oid` to identify users across apps).
    pub fn subject(&self) -> Option<&str> {
        self.opt(self.subject)
    }
    /// `name`: the user's display name (delegated tokens).
    pub fn name(&self) -> Option<&str> {
        self.opt(self.name)
    }
    /// `preferred_username` (v2 tokens).
    pub fn preferred_username(&self) -> Option<&str> {
        self.opt(self.preferred_username)
    }
    /// `upn` (v1 tokens).
    pub fn upn(&self) -> Option<&str> {
        self.opt(self.upn)
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
        self.opt(self.client_id)
    }
    /// How the client authenticated: `azpacr` (v2) or `appidacr` (v1): `0` public client,
    /// `1` secret, `2` certificate or federated credential.
    pub fn client_auth_method(&self) -> Option<&str> {
        self.opt(self.client_auth_method)
    }
    /// `ver`: `1.0` or `2.0`.
    pub fn version(&self) -> Option<&str> {
        self.opt(self.version)
    }
    /// `uti`: Entra's token identifier (for correlation, not for replay detection).
    pub fn uti(&self) -> Option<&str> {
        self.opt(self.uti)
    }
    /// `idtyp`: `app` or `user` when the optional claim is configured.
    pub fn idtyp(&self) -> Option<&str> {
        self.opt(self.idtyp)
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

/// The claims that may name the calling client; the profile picks one.
#[derive(Clone, Copy, Debug, Default)]
struct ClientClaims {
    azp: Option<Span>,
    client_id: Option<Span>,
    client_id_legacy: Option<Span>,
    appid: Option<Span>,
    cid: Option<Span>,
}

/// A claim that names the calling client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClientClaim {
    /// `azp` (Entra v2, OIDC, Auth0, Keycloak).
    Azp,
    /// `client_id` (RFC 9068, Keycloak service accounts).
    ClientId,
    /// `clientId` (Keycloak service accounts before version 21).
    ClientIdLegacy,
    /// `appid` (Entra v1).
    Appid,
    /// `cid` (Okta).
    Cid,
}

/// Where an app-only token's permissions are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AppPermissions {
    /// `scope` / `scp` (RFC 9068-style providers).
    Scopes,
    /// `roles` (Entra application permissions).
    Roles,
    /// Both (custom profiles).
    RolesAndScopes,
}

/// What classification reads and sets; only the validator's profiles use it.
impl Claims {
    pub(crate) fn client_claim(&self, which: ClientClaim) -> Option<&str> {
        let c = &self.client_claims;
        self.opt(match which {
            ClientClaim::Azp => c.azp,
            ClientClaim::ClientId => c.client_id,
            ClientClaim::ClientIdLegacy => c.client_id_legacy,
            ClientClaim::Appid => c.appid,
            ClientClaim::Cid => c.cid,
        })
    }
    pub(crate) fn uid(&self) -> Option<&str> {
        self.opt(self.uid)
    }
    pub(crate) fn gty(&self) -> Option<&str> {
        self.opt(self.gty)
    }
    /// `scp` is present and non-empty.
    pub(crate) fn has_scp(&self) -> bool {
        self.has_scp
    }
    /// Sets the calling client to the value of `which` (none when it is absent).
    pub(crate) fn set_client(&mut self, which: Option<ClientClaim>) {
        let c = &self.client_claims;
        self.client_id = which.and_then(|w| match w {
            ClientClaim::Azp => c.azp,
            ClientClaim::ClientId => c.client_id,
            ClientClaim::ClientIdLegacy => c.client_id_legacy,
            ClientClaim::Appid => c.appid,
            ClientClaim::Cid => c.cid,
        });
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

/// The claims the validator reads (every other claim is only checked for duplicates).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Member {
    Iss,
    Aud,
    Exp,
    Nbf,
    Iat,
    Tid,
    Oid,
    Sub,
    Name,
    PreferredUsername,
    Upn,
    Azp,
    ClientId,
    ClientIdLegacy,
    Appid,
    Cid,
    Uid,
    Gty,
    Azpacr,
    Appidacr,
    Ver,
    Uti,
    Idtyp,
    Scp,
    Scope,
    Roles,
    Wids,
    Groups,
    XmsCc,
    ClaimNames,
    Hasgroups,
    Nonce,
    CHash,
    AtHash,
}

impl json::Key for Member {
    fn index(self) -> u32 {
        self as u32
    }
}

fn wanted(name: &str) -> Option<Member> {
    use Member as C;
    Some(match name {
        "iss" => C::Iss,
        "aud" => C::Aud,
        "exp" => C::Exp,
        "nbf" => C::Nbf,
        "iat" => C::Iat,
        "tid" => C::Tid,
        "oid" => C::Oid,
        "sub" => C::Sub,
        "name" => C::Name,
        "preferred_username" => C::PreferredUsername,
        "upn" => C::Upn,
        "azp" => C::Azp,
        "client_id" => C::ClientId,
        "clientId" => C::ClientIdLegacy,
        "appid" => C::Appid,
        "cid" => C::Cid,
        "uid" => C::Uid,
        "gty" => C::Gty,
        "azpacr" => C::Azpacr,
        "appidacr" => C::Appidacr,
        "ver" => C::Ver,
        "uti" => C::Uti,
        "idtyp" => C::Idtyp,
        "scp" => C::Scp,
        "scope" => C::Scope,
        "roles" => C::Roles,
        "wids" => C::Wids,
        "groups" => C::Groups,
        "xms_cc" => C::XmsCc,
        "_claim_names" => C::ClaimNames,
        "hasgroups" => C::Hasgroups,
        "nonce" => C::Nonce,
        "c_hash" => C::CHash,
        "at_hash" => C::AtHash,
        _ => return None,
    })
}

/// Parses an RFC 7519 NumericDate: a non-negative finite number within i64 seconds.
fn numeric_date(value: &Captured<'_, '_>) -> Option<f64> {
    match value {
        Captured::Num(Number::Unsigned(u)) => i64::try_from(*u).ok().map(|i| i as f64),
        Captured::Num(Number::Float(f)) if f.is_finite() && *f >= 0.0 && *f < i64::MAX as f64 => {
            Some(*f)
        }
        _ => None,
    }
}

/// The largest payload [`Claims`] hold: spans are `u32`, and unescaped copies can add at most
/// the payload's length again.
const MAX_PAYLOAD_LEN: usize = (u32::MAX / 2) as usize;

/// `scp` or `scope` as read, turned into [`Scopes`] once the winner is known.
#[derive(Clone, Copy)]
enum ScopeSource {
    /// A space-separated string.
    Str(Span),
    /// An array: a range of `lists`.
    Array(Span),
}

/// Collects the claims while the payload is parsed. Every string becomes a [`Span`] of the
/// payload, or of `extra` (offset by the payload's length) when it had escapes. The first
/// claim error is kept and later members are ignored, as a parser that stops there would.
struct Builder<'p> {
    payload: &'p str,
    extra: String,
    lists: Vec<Span>,
    error: Option<ValidationError>,
    issuer: Option<Span>,
    audiences: Option<Span>,
    expires_at: Option<f64>,
    not_before: Option<f64>,
    issued_at: Option<f64>,
    tenant_id: Option<Span>,
    object_id: Option<Span>,
    subject: Option<Span>,
    name: Option<Span>,
    preferred_username: Option<Span>,
    upn: Option<Span>,
    azp: Option<Span>,
    client_id: Option<Span>,
    client_id_legacy: Option<Span>,
    appid: Option<Span>,
    cid: Option<Span>,
    uid: Option<Span>,
    gty: Option<Span>,
    azpacr: Option<Span>,
    appidacr: Option<Span>,
    version: Option<Span>,
    uti: Option<Span>,
    idtyp: Option<Span>,
    scp: Option<ScopeSource>,
    scope: Option<Span>,
    roles: Span,
    wids: Span,
    xms_cc: Span,
    groups: Option<Span>,
    overage: bool,
    id_token_claims: bool,
}

impl<'p> Builder<'p> {
    fn new(payload: &'p str) -> Self {
        Builder {
            payload,
            extra: String::new(),
            lists: Vec::new(),
            error: None,
            issuer: None,
            audiences: None,
            expires_at: None,
            not_before: None,
            issued_at: None,
            tenant_id: None,
            object_id: None,
            subject: None,
            name: None,
            preferred_username: None,
            upn: None,
            azp: None,
            client_id: None,
            client_id_legacy: None,
            appid: None,
            cid: None,
            uid: None,
            gty: None,
            azpacr: None,
            appidacr: None,
            version: None,
            uti: None,
            idtyp: None,
            scp: None,
            scope: None,
            roles: Span::default(),
            wids: Span::default(),
            xms_cc: Span::default(),
            groups: None,
            overage: false,
            id_token_claims: false,
        }
    }

    /// Where `s` lives: its range of the payload when it is a slice of it (no copy), else a
    /// range of `extra`, where it is copied (strings that had escapes, which the JSON parser
    /// unescaped into a `String` of their own).
    fn span(&mut self, s: &str) -> Span {
        // The offset of `s` into the payload, by address (no dereference): when `s` lies within
        // the payload's bytes, it *is* those bytes.
        let start = (s.as_ptr() as usize).wrapping_sub(self.payload.as_ptr() as usize);
        if start <= self.payload.len()
            && s.len() <= self.payload.len() - start
            && self.payload.is_char_boundary(start)
            && self.payload.is_char_boundary(start + s.len())
        {
            // Both fit in u32: the payload is at most MAX_PAYLOAD_LEN bytes.
            return Span {
                start: start as u32,
                end: (start + s.len()) as u32,
            };
        }
        let start = self.payload.len() + self.extra.len();
        self.extra.push_str(s);
        // `extra` holds unescaped strings of the payload, so it is shorter than the payload.
        Span {
            start: start as u32,
            end: (start + s.len()) as u32,
        }
    }

    /// Adds `items` to `lists`; returns their range there.
    fn list<'s>(&mut self, items: impl IntoIterator<Item = &'s Cow<'p, str>>) -> Span
    where
        'p: 's,
    {
        if self.lists.capacity() == 0 {
            // One allocation for the lists of a typical token.
            self.lists.reserve(16);
        }
        let start = self.lists.len() as u32;
        for item in items {
            let span = self.span(item);
            self.lists.push(span);
        }
        Span {
            start,
            end: self.lists.len() as u32,
        }
    }

    fn string(&mut self, value: &Captured<'p, '_>, claim: &'static str) -> Option<Span> {
        match value {
            Captured::Str(s) => Some(self.span(s)),
            _ => self.fail(ValidationError::InvalidClaim(claim)),
        }
    }

    fn strings(&mut self, value: &Captured<'p, '_>, claim: &'static str) -> Option<Span> {
        match value {
            Captured::StrArray(v) => Some(self.list(v.iter())),
            _ => self.fail(ValidationError::InvalidClaim(claim)),
        }
    }

    fn date(&mut self, value: &Captured<'p, '_>, claim: &'static str) -> Option<f64> {
        match numeric_date(value) {
            Some(d) => Some(d),
            None => self.fail(ValidationError::InvalidClaim(claim)),
        }
    }

    fn fail<T>(&mut self, error: ValidationError) -> Option<T> {
        self.error.get_or_insert(error);
        None
    }

    /// Takes one member, checking its type.
    fn member(&mut self, member: Member, value: Captured<'p, '_>) {
        use Member as C;
        if self.error.is_some() {
            return;
        }
        let v = &value;
        match member {
            C::Iss => self.issuer = self.string(v, "iss"),
            C::Aud => {
                self.audiences = match v {
                    Captured::Str(s) => Some(self.list([s])),
                    Captured::StrArray(a) => Some(self.list(a.iter())),
                    _ => self.fail(ValidationError::InvalidClaim("aud")),
                };
            }
            C::Exp => self.expires_at = self.date(v, "exp"),
            C::Nbf => self.not_before = self.date(v, "nbf"),
            C::Iat => self.issued_at = self.date(v, "iat"),
            C::Tid => self.tenant_id = self.string(v, "tid"),
            C::Oid => self.object_id = self.string(v, "oid"),
            C::Sub => self.subject = self.string(v, "sub"),
            C::Name => self.name = self.string(v, "name"),
            C::PreferredUsername => {
                self.preferred_username = self.string(v, "preferred_username");
            }
            C::Upn => self.upn = self.string(v, "upn"),
            C::Azp => self.azp = self.string(v, "azp"),
            C::ClientId => self.client_id = self.string(v, "client_id"),
            C::ClientIdLegacy => self.client_id_legacy = self.string(v, "clientId"),
            C::Appid => self.appid = self.string(v, "appid"),
            C::Cid => self.cid = self.string(v, "cid"),
            C::Uid => self.uid = self.string(v, "uid"),
            C::Gty => self.gty = self.string(v, "gty"),
            C::Azpacr => self.azpacr = self.string(v, "azpacr"),
            C::Appidacr => self.appidacr = self.string(v, "appidacr"),
            // Entra sends `"1.0"` / `"2.0"`; Okta sends the number `1`, which names no Entra
            // version (https://developer.okta.com/docs/api/openapi/oktaoauth/guides/overview/).
            C::Ver if matches!(v, Captured::Num(_)) => {}
            C::Ver => self.version = self.string(v, "ver"),
            C::Uti => self.uti = self.string(v, "uti"),
            C::Idtyp => self.idtyp = self.string(v, "idtyp"),
            C::Scp => {
                self.scp = match v {
                    Captured::Str(s) => Some(ScopeSource::Str(self.span(s))),
                    Captured::StrArray(a) => Some(ScopeSource::Array(self.list(a.iter()))),
                    _ => self.fail(ValidationError::InvalidClaim("scp")),
                };
            }
            C::Scope => self.scope = self.string(v, "scope"),
            C::Roles => self.roles = self.strings(v, "roles").unwrap_or_default(),
            C::Wids => self.wids = self.strings(v, "wids").unwrap_or_default(),
            C::XmsCc => self.xms_cc = self.strings(v, "xms_cc").unwrap_or_default(),
            C::Groups => self.groups = self.strings(v, "groups"),
            C::ClaimNames => self.overage = true,
            C::Hasgroups => self.overage |= *v == Captured::Bool(true),
            C::Nonce | C::CHash | C::AtHash => self.id_token_claims = true,
        }
    }

    /// A string by span, of the payload or of `extra`.
    fn resolve(&self, span: Span) -> &str {
        let len = self.payload.len();
        let (start, end) = (span.start as usize, span.end as usize);
        if start >= len && end > len {
            &self.extra[start - len..end - len]
        } else {
            &self.payload[start..end]
        }
    }

    fn scopes(&self, source: ScopeSource) -> Scopes {
        match source {
            ScopeSource::Str(s) => Scopes::parse_str(self.resolve(s)),
            ScopeSource::Array(range) => {
                Scopes::from_strs(self.lists[range.range()].iter().map(|s| self.resolve(*s)))
            }
        }
    }

    /// Applies the rules that need every member; returns the claims, less the text.
    fn finish(self, key_id: Arc<str>) -> Result<(Claims, String), ValidationError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let issuer = self.issuer.ok_or(ValidationError::MissingClaim("iss"))?;
        let audiences = self.audiences.ok_or(ValidationError::MissingClaim("aud"))?;
        let expires_at = self
            .expires_at
            .ok_or(ValidationError::MissingClaim("exp"))?;
        let groups = match (self.groups, self.overage) {
            (Some(list), _) => GroupsRepr::Listed(list),
            (None, true) => GroupsRepr::Overage,
            (None, false) => GroupsRepr::NotIssued,
        };
        let scp = self.scp.map(|s| self.scopes(s));
        let has_scp = scp.as_ref().is_some_and(|s| !s.is_empty());
        let scopes = match (scp, self.scope) {
            (Some(scp), _) => scp,
            (None, Some(scope)) => Scopes::parse_str(self.resolve(scope)),
            (None, None) => Scopes::default(),
        };
        let claims = Claims {
            text: String::new(),
            payload_len: self.payload.len() as u32,
            lists: self.lists,
            issuer,
            audiences,
            expires_at,
            not_before: self.not_before,
            issued_at: self.issued_at,
            tenant_id: self.tenant_id,
            object_id: self.object_id,
            subject: self.subject,
            name: self.name,
            preferred_username: self.preferred_username,
            upn: self.upn,
            scopes,
            roles: self.roles,
            client_id: None,
            client_claims: ClientClaims {
                azp: self.azp,
                client_id: self.client_id,
                client_id_legacy: self.client_id_legacy,
                appid: self.appid,
                cid: self.cid,
            },
            uid: self.uid,
            gty: self.gty,
            has_scp,
            client_auth_method: self.azpacr.or(self.appidacr),
            version: self.version,
            uti: self.uti,
            idtyp: self.idtyp,
            wids: self.wids,
            xms_cc: self.xms_cc,
            groups,
            // Placeholder until the validator's profile classifies the token: `Claims` never
            // leave the validator unclassified (`Validator::validate` calls `classify`).
            kind: TokenKind::Delegated,
            app_permissions: AppPermissions::Scopes,
            profile: "",
            key_id,
            id_token_claims: self.id_token_claims,
        };
        Ok((claims, self.extra))
    }
}

impl Claims {
    /// Parses the verified payload strictly (duplicate names refused at every depth) and builds
    /// typed claims from it, checking every type. The claims keep `payload`; their strings
    /// are ranges of it.
    pub(crate) fn parse(payload: String, key_id: Arc<str>) -> Result<Self, ValidationError> {
        if payload.len() > MAX_PAYLOAD_LEN {
            return Err(ValidationError::TooLarge {
                limit: MAX_PAYLOAD_LEN,
            });
        }
        let mut builder = Builder::new(&payload);
        json::parse_object(&payload, wanted, |name, value| builder.member(name, value)).map_err(
            |e| match e {
                JsonError::DuplicateMember => ValidationError::DuplicateMember(TokenPart::Payload),
                JsonError::Invalid => ValidationError::InvalidJson(TokenPart::Payload),
            },
        )?;
        let (mut claims, extra) = builder.finish(key_id)?;
        let mut text = payload;
        text.push_str(&extra);
        claims.text = text;
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Result<Claims, ValidationError> {
        Claims::parse(json.to_owned(), "k".into())
    }

    const BASE: &str = r#""iss":"i","aud":"a","exp":2000000000"#;

    #[test]
    fn a_numeric_ver_is_accepted_and_names_no_version() {
        let c = claims(&format!(r#"{{{BASE},"ver":1}}"#)).unwrap();
        assert_eq!(c.version(), None);
        assert_eq!(
            claims(&format!(r#"{{{BASE},"ver":true}}"#)).unwrap_err(),
            ValidationError::InvalidClaim("ver")
        );
    }

    #[test]
    fn scopes_are_a_set_split_on_spaces() {
        let c = claims(&format!(
            r#"{{{BASE},"scp":"Case.Create  Files.Read Case.Create"}}"#
        ))
        .unwrap();
        assert_eq!(
            c.scopes().iter().collect::<Vec<_>>(),
            ["Case.Create", "Files.Read"]
        );
        assert!(c.scopes().contains("Files.Read"));
        assert!(!c.scopes().contains("files.read"));
    }

    #[test]
    fn groups_overage_is_reported_as_overage_never_as_no_groups() {
        let c = claims(&format!(r#"{{{BASE},"_claim_names":{{"groups":"src1"}}}}"#)).unwrap();
        assert_eq!(c.groups(), Groups::Overage);
        let c = claims(&format!(r#"{{{BASE},"hasgroups":true}}"#)).unwrap();
        assert_eq!(c.groups(), Groups::Overage);
        let c = claims(&format!(r#"{{{BASE},"groups":["g"]}}"#)).unwrap();
        match c.groups() {
            Groups::Listed(list) => assert_eq!(list, ["g"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            claims(&format!("{{{BASE}}}")).unwrap().groups(),
            Groups::NotIssued
        );
    }

    #[test]
    fn numeric_dates_must_be_non_negative_numbers_within_i64() {
        for bad in [
            r#""2000000000""#,
            "true",
            "-1",
            "1e300",
            "9223372036854775808",
            "null",
            "[1]",
        ] {
            let json = format!(r#"{{"iss":"i","aud":"a","exp":{bad}}}"#);
            assert_eq!(
                claims(&json).unwrap_err(),
                ValidationError::InvalidClaim("exp"),
                "{bad}"
            );
        }
        let c = claims(r#"{"iss":"i","aud":"a","exp":2000000000.5}"#).unwrap();
        assert_eq!(c.expires_at(), 2_000_000_000.5);
    }

    #[test]
    fn raw_and_custom_deserialization_reach_every_claim() {
        #[derive(serde::Deserialize)]
        struct Mine {
            custom: u32,
        }
        let c = claims(&format!(r#"{{{BASE},"custom":7}}"#)).unwrap();
        assert_eq!(c.get("custom"), Some(Value::from(7)));
        assert_eq!(c.deserialize::<Mine>().unwrap().custom, 7);
    }
    #[test]
    fn escaped_strings_are_unescaped_and_plain_ones_read_in_place() {
        let c = claims(
            r#"{"iss":"https:\/\/idp\/t","aud":["a\u0070i","plain"],"exp":2000000000,
                "tid":"t\u00e9nant","sub":"s","azp":"s","scp":"a\u0020b a","roles":["r\"1","r2"],
                "wids":[],"xms_cc":["cp1"],"groups":["g\u0031","g2"],"custom":"\u0041"}"#,
        )
        .unwrap();
        assert_eq!(c.issuer(), "https://idp/t");
        assert_eq!(c.audiences(), ["api", "plain"]);
        assert_eq!(c.tenant_id(), Some("ténant"));
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.roles(), ["r\"1", "r2"]);
        assert!(c.has_role("r\"1") && !c.has_role("r"));
        assert!(c.wids().is_empty());
        assert_eq!(c.client_capabilities(), ["cp1"]);
        match c.groups() {
            Groups::Listed(g) => {
                assert_eq!(g, ["g1", "g2"]);
                assert_eq!(g.len(), 2);
                assert_eq!(g.get(1), Some("g2"));
                assert_eq!(g.iter().rev().collect::<Vec<_>>(), ["g2", "g1"]);
                assert_eq!(g.join(","), "g1,g2");
            }
            other => panic!("{other:?}"),
        }
        // The raw claims are the payload as sent, not the unescaped copies after it.
        assert_eq!(c.get("custom"), Some(Value::from("A")));
        assert_eq!(c.raw().len(), 12);
        let copy = c.clone();
        drop(c);
        assert_eq!(copy.issuer(), "https://idp/t");
        assert_eq!(copy.audiences().to_vec(), ["api", "plain"]);
    }

    #[test]
    fn long_scope_lists_are_still_sets() {
        let names: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let scp = format!("{} {} s0 s39", names.join(" "), names.join(" "));
        let c = claims(&format!(r#"{{{BASE},"scp":"{scp}"}}"#)).unwrap();
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), names);
        assert_eq!(c.scopes().len(), 40);
    }

    #[test]
    fn scope_arrays_are_sets_too() {
        let c = claims(&format!(r#"{{{BASE},"scp":["b","","a","b","a c"]}}"#)).unwrap();
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), ["b", "a", "a c"]);
        assert_eq!(c.scopes().len(), 3);
        assert!(c.scopes().contains("a c") && !c.scopes().contains("c"));
        assert!(c.has_scp());
        let c = claims(&format!(r#"{{{BASE},"scp":["x","y","x",""]}}"#)).unwrap();
        assert_eq!(c.scopes().iter().collect::<Vec<_>>(), ["x", "y"]);
        let spaced = claims(&format!(r#"{{{BASE},"scp":"x  y"}}"#)).unwrap();
        assert_eq!(c.scopes(), spaced.scopes());
        let none = claims(&format!(r#"{{{BASE},"scp":[""]}}"#)).unwrap();
        assert!(none.scopes().is_empty() && none.scopes().iter().next().is_none());
        assert_eq!(none.scopes(), &Scopes::default());
        assert!(!none.has_scp());
    }

    #[test]
    fn debug_shows_the_typed_claims_but_never_the_payload() {
        let c = claims(&format!(
            r#"{{{BASE},"roles":["r"],"secret":"hunter2","scp":"s1 s2"}}"#
        ))
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains(r#"issuer: "i""#), "{debug}");
        assert!(debug.contains(r#"audiences: ["a"]"#), "{debug}");
        assert!(debug.contains(r#"Scopes(["s1", "s2"])"#), "{debug}");
        assert!(debug.contains(r#"roles: ["r"]"#), "{debug}");
    }
}
