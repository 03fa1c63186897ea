fn main() -> std::process::ExitCode {
    // One rustls crypto provider for the whole process (lettre's TLS).
    let _ = rustls::crypto::ring::default_provider().install_default();
    server::cli::main()
}
