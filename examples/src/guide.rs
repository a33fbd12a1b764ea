//! The guide (`docs/`, an mdBook: `docs/SUMMARY.md`), compiled and run.
//!
//! Every page written for the guide is included below as the documentation of a private item,
//! so that each of its ```` ```rust ```` blocks is a doc test of this crate, which depends on
//! every crate of the workspace: `cargo test -p examples --doc` keeps the guide true to the
//! code. Blocks in other languages (`text`, `toml`, `hcl`, `sh`, `js`, `mermaid`) are not
//! compiled.
#![cfg(doctest)]

#[doc = include_str!("../../docs/getting-started.md")]
struct GettingStarted;

#[doc = include_str!("../../docs/choosing.md")]
struct Choosing;

#[doc = include_str!("../../docs/patterns/authorization-code.md")]
struct AuthorizationCode;

#[doc = include_str!("../../docs/patterns/on-behalf-of.md")]
struct OnBehalfOf;

#[doc = include_str!("../../docs/patterns/service-to-service.md")]
struct ServiceToService;

#[doc = include_str!("../../docs/terraform.md")]
struct Terraform;

#[doc = include_str!("../../docs/configuration.md")]
struct Configuration;

#[doc = include_str!("../../docs/testing.md")]
struct Testing;

#[doc = include_str!("../../docs/migrating.md")]
struct Migrating;

#[doc = include_str!("../../docs/troubleshooting.md")]
struct Troubleshooting;

#[doc = include_str!("../../docs/oidc-providers.md")]
struct OidcProviders;
