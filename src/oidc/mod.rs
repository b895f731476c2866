//! The upstream OpenID provider: discovery, keys, and the back channel to it.

pub mod access_token;
pub mod backchannel;
pub mod flow;
pub mod id_token;
pub mod jwk;
pub mod provider;

pub use backchannel::{Backchannel, BackchannelError};
pub use provider::{ACCEPTED_ID_TOKEN_ALGS, Discovered, Metadata, Provider, compatibility};
