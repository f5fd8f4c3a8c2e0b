//! Errors that stop the audit of a file or of the whole run.

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "{file}:{line}:{col}: cannot parse: {message}; fix the syntax or exclude the file in ringfence-audit.yml"
    )]
    Parse { file: String, line: usize, col: usize, message: String },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{caller}: `uses: {uses}`: {message}")]
    Call { caller: String, uses: String, message: String },
    #[error("{file}:{line}:{col}: {message}")]
    Config { file: String, line: usize, col: usize, message: String },
}
