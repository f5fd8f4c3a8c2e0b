//! Renderers: each turns one [`Report`](crate::Report) into one output format.

mod github;
mod json;
mod sarif;
mod text;

pub use github::github;
pub use json::json;
pub use sarif::sarif;
pub use text::text;
