//! Build script: turns on the Postgres half of the test suite when `TEST_DATABASE_URL` is set,
//! and the tests on the shared data (`../shared`: ViHOS, the real plans) when that folder is
//! beside the repository (or named by `GOPY_SHARED_DIR`), so that without them those tests are
//! reported as ignored (skipped), never as passed. Likewise the console's real-browser tests
//! and chromedriver.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(gopy_pg)");
    println!("cargo::rustc-check-cfg=cfg(gopy_shared)");
    println!("cargo::rustc-check-cfg=cfg(gopy_soffice)");
    // The DOCX export is rendered to PNG in a test when LibreOffice and poppler are here.
    let on_path = |tool: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
    };
    if on_path("soffice") && on_path("pdftoppm") {
        println!("cargo::rustc-cfg=gopy_soffice");
    }
    println!("cargo::rerun-if-env-changed=GOPY_SHARED_DIR");
    let root = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let shared = std::env::var("GOPY_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain([root.join("../shared"), root.join("../../shared")])
        .find(|d| d.join("data/vihos").is_dir());
    if let Some(dir) = shared {
        println!(
            "cargo::rerun-if-changed={}",
            dir.join("data/vihos").display()
        );
        println!("cargo::rustc-cfg=gopy_shared");
    }
    // The fault scenario that restarts Postgres runs a private cluster of its own: it is on
    // when the server binaries (initdb, pg_ctl) are found (GOPY_PG_BIN, the newest
    // /usr/lib/postgresql/*/bin, or the PATH), and always under CI=true, where missing
    // binaries must fail it rather than skip it.
    println!("cargo::rustc-check-cfg=cfg(gopy_pg_bin)");
    println!("cargo::rerun-if-env-changed=GOPY_PG_BIN");
    println!("cargo::rerun-if-env-changed=CI");
    let server_bins = std::env::var_os("GOPY_PG_BIN")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            std::fs::read_dir("/usr/lib/postgresql")
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path().join("bin")),
        )
        .chain(
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default(),
        )
        .any(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file());
    if server_bins || std::env::var("CI").is_ok_and(|v| v.trim() == "true") {
        println!("cargo::rustc-cfg=gopy_pg_bin");
    }
    println!("cargo::rerun-if-env-changed=TEST_DATABASE_URL");
    println!("cargo::rerun-if-changed=migrations");
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=gopy_pg");
    }
    // The real-browser tests of the console run when chromedriver is found (CHROMEDRIVER, or
    // on the PATH) or when GOPY_REQUIRE_BROWSER=1 asks for them (then a missing chromedriver
    // fails them instead of skipping them).
    println!("cargo::rustc-check-cfg=cfg(gopy_browser)");
    println!("cargo::rerun-if-env-changed=GOPY_REQUIRE_BROWSER");
    println!("cargo::rerun-if-env-changed=CHROMEDRIVER");
    let required = std::env::var("GOPY_REQUIRE_BROWSER").is_ok_and(|v| v.trim() == "1");
    let found = std::env::var_os("CHROMEDRIVER")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(
            std::env::var_os("PATH")
                .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
                .unwrap_or_default()
                .into_iter()
                .map(|d| d.join("chromedriver")),
        )
        .any(|p| p.is_file());
    if required || found {
        println!("cargo::rustc-cfg=gopy_browser");
    }
}
