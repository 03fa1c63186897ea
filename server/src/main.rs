// Many threads allocating and freeing page-sized buffers: glibc's malloc
// spent a fifth of the message page's time in its arenas (bench/portal.sh
// under perf); mimalloc's per-thread pages do not.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // One rustls crypto provider for the whole process (lettre's TLS).
    let _ = rustls::crypto::ring::default_provider().install_default();
    server::cli::main()
}
