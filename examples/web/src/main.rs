//! The Tony web example.
//!
//! ```text
//! cargo run -p tony-web-example                          # on 127.0.0.1:8080, config examples/web/web.toml
//! cargo run -p tony-web-example -- --addr 127.0.0.1:0 --config my.toml
//! TONY_WEB_ADDR=127.0.0.1:0 dx serve ...                   # (dx keeps `--addr` for itself)
//! dx serve --hot-patch -p tony-web-example --features hot # edit plugin methods live
//! curl localhost:8080/hello/you
//! curl -XPOST -H 'x-api-key: dev-key' localhost:8080/count
//! ```

mod service;

use std::net::SocketAddr;
use std::path::PathBuf;

use tony_core::PluginSystem;
use tony_web_example::{Web, default_config_path, hot_reload_config};

type Error = Box<dyn std::error::Error>;

#[derive(Debug)]
struct Args {
    addr: SocketAddr,
    config: PathBuf,
}

fn parse_addr(v: &str) -> Result<SocketAddr, Error> {
    v.parse()
        .map_err(|e| format!("address {v}: {e} (expected e.g. 127.0.0.1:8080)").into())
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args {
        addr: match std::env::var("TONY_WEB_ADDR") {
            Ok(v) => parse_addr(&v)?,
            Err(_) => SocketAddr::from(([127, 0, 0, 1], 8080)),
        },
        config: default_config_path(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--addr" => args.addr = parse_addr(&value("--addr")?)?,
            "--config" => args.config = PathBuf::from(value("--config")?),
            other => {
                return Err(
                    format!("unknown argument `{other}` (expected --addr or --config)").into(),
                );
            }
        }
    }
    Ok(args)
}

fn main() {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .init();
    if let Err(e) = run() {
        tracing::error!("tony-web: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Error> {
    let args = parse_args()?;
    let web = Web::build(PluginSystem::builder().config(hot_reload_config(&args.config)?))?;
    let system = web.system().clone();
    system.initialize()?;
    // Config file watching always; hot patches with the `hot` feature.
    web.start_hot_reload()?;
    if let Some(status) = web.hot_status() {
        tracing::info!(patches = %status.patches.summary(), "hot reload");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr).await?;
        tracing::info!(
            "listening on http://{} (pid {}, config {})",
            listener.local_addr()?,
            std::process::id(),
            args.config.display()
        );
        axum::serve(listener, service::serve(&web))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
                tracing::info!("stopping");
            })
            .await?;
        Ok::<(), Error>(())
    })?;
    Ok(())
}
