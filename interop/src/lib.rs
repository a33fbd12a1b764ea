//! Interop tests only (see `tests/`): tower-entra's crates against panva's `oidc-provider`
//! (OpenID Certified), and Microsoft's `@azure/msal-node` against the Entra emulator.
//!
//! The Node harnesses are in `interop/oidc-provider/` and `interop/msal-node/`, each pinned by
//! its `package-lock.json`; install them with `npm ci` in each folder. Without Node or the
//! installed packages the tests skip with a printed reason, unless `CI` is set: then they fail.
