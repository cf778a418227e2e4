//! The deployment files against the repository they build from, without Docker: the image
//! copies every folder the build embeds (a template or word list missing from the build
//! context fails `docker build` only on the day someone builds), runs as a non-root user and
//! is health-checked on `/readyz`; no secret is baked in; `.env` stays out of git and of the
//! build context; the compose file wires what the README says it does.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(name: &str) -> String {
    std::fs::read_to_string(root().join(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
}

/// The Dockerfile's instructions, continuation lines joined, comments dropped.
fn instructions() -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

/// The sources the build stage copies from the build context (not `--from` another stage).
fn copied() -> Vec<String> {
    instructions()
        .iter()
        .filter_map(|i| i.strip_prefix("COPY "))
        .filter(|args| !args.starts_with("--from"))
        .flat_map(|args| {
            let words: Vec<&str> = args.split_whitespace().collect();
            words[..words.len() - 1]
                .iter()
                .map(|w| w.trim_end_matches('/').to_owned())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The repository paths (relative to the root) that `src/` embeds at compile time.
fn embedded() -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read a source file");
            for marker in [
                "include_str!(\"",
                "include_str!(concat!(\"",
                "include_bytes!(\"",
                "migrate!(\"",
            ] {
                for (at, _) in text.match_indices(marker) {
                    let rest = &text[at + marker.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let literal = &rest[..end];
                    // `migrate!` paths are relative to the crate root, the others to the file.
                    let base = if marker.starts_with("migrate") {
                        root()
                    } else {
                        path.parent().expect("parent").to_path_buf()
                    };
                    out.insert(normalise(&base.join(literal)));
                }
            }
        }
    }
    out
}

/// A path without `.` and `..`, relative to the repository root.
fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out.strip_prefix(root())
        .map(Path::to_path_buf)
        .unwrap_or(out)
}

#[test]
fn the_image_build_copies_every_file_the_build_embeds() {
    let copied = copied();
    let embedded = embedded();
    assert!(
        embedded.iter().any(|p| p.starts_with("templates")),
        "the scan finds the console templates: {embedded:?}"
    );
    for path in &embedded {
        assert!(
            copied.iter().any(|c| path.starts_with(c)),
            "{} is embedded by the build but the Dockerfile does not copy it (copies {copied:?})",
            path.display()
        );
    }
    for c in &copied {
        assert!(
            root().join(c).exists(),
            "the Dockerfile copies {c}, which does not exist"
        );
    }
    for needed in ["Cargo.toml", "Cargo.lock", "build.rs", "src", "benches"] {
        assert!(
            copied.iter().any(|c| c == needed),
            "the build needs {needed}"
        );
    }
}

#[test]
fn the_image_is_multi_stage_non_root_and_health_checked_on_readyz() {
    let ins = instructions();
    let stages = ins.iter().filter(|i| i.starts_with("FROM ")).count();
    assert!(stages >= 2, "a build stage and a runtime stage");
    let runtime: Vec<&String> = ins
        .iter()
        .skip_while(|i| !(i.starts_with("FROM ") && i.contains("AS runtime")))
        .collect();
    assert!(!runtime.is_empty(), "a stage named runtime");
    let user = runtime
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix("USER "))
        .expect("the runtime stage sets a USER");
    assert!(
        !matches!(user.trim(), "root" | "0" | "0:0"),
        "never root: {user}"
    );
    assert!(
        runtime
            .iter()
            .any(|i| i.starts_with("HEALTHCHECK") && i.contains("/readyz")),
        "health-checked on /readyz"
    );
    assert!(
        runtime
            .iter()
            .any(|i| i.starts_with("COPY --from=build") && i.contains("gopy")),
        "only the binary comes from the build stage"
    );
}

#[test]
fn no_secret_is_baked_into_the_image_or_committed() {
    for i in instructions() {
        if let Some(env) = i.strip_prefix("ENV ").or_else(|| i.strip_prefix("ARG ")) {
            for word in ["TOKEN", "PASSWORD", "SECRET", "KEY"] {
                assert!(!env.contains(word), "a secret in the image: {i}");
            }
        }
    }
    let dockerignore = read(".dockerignore");
    let gitignore = read(".gitignore");
    for (name, text) in [(".dockerignore", &dockerignore), (".gitignore", &gitignore)] {
        assert!(
            text.lines().any(|l| l.trim() == ".env"),
            "{name} keeps .env out"
        );
    }
    assert!(
        dockerignore
            .lines()
            .any(|l| l.trim().trim_end_matches('/') == "target")
    );
    // The example names the secrets but holds none.
    for line in read(".env.example").lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.starts_with('#') {
            continue;
        }
        if ["TOKEN", "SECRET", "APP_ID"]
            .iter()
            .any(|w| key.contains(w))
        {
            assert!(value.trim().is_empty(), "{key} has a value in .env.example");
        }
        if key.contains("PASSWORD") {
            assert!(value.contains("change-me"), "{key} is a placeholder");
        }
    }
}

#[test]
fn the_compose_file_wires_postgres_a_second_replica_a_proxy_and_backups() {
    let compose = read("docker-compose.yml");
    for needed in [
        "env_file: .env",
        "pgdata:/var/lib/postgresql/data",
        "condition: service_healthy",
        "profiles: [\"replicas\"]",
        "profiles: [\"proxy\"]",
        "profiles: [\"backup\"]",
        "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro",
        "./deploy/backup.sh:/backup.sh:ro",
        "media:/var/lib/gopy/media",
        "read_only: true",
    ] {
        assert!(
            compose.contains(needed),
            "docker-compose.yml lacks {needed}"
        );
    }
    assert!(
        !compose.contains("TELEGRAM_BOT_TOKEN:") && !compose.contains("POSTGRES_PASSWORD: \""),
        "secrets come from .env, not the compose file"
    );
    for file in ["deploy/Caddyfile", "deploy/nginx.conf", "deploy/backup.sh"] {
        assert!(root().join(file).is_file(), "{file} exists");
    }
    let caddy = read("deploy/Caddyfile");
    assert!(caddy.contains("health_uri /readyz") && caddy.contains("respond @metrics 404"));
}

#[test]
fn the_dockerfile_builds_with_the_frontend_built_into_docker() {
    // A `# syntax=` line makes BuildKit fetch a frontend image from Docker Hub before every
    // build: a build with the base images at hand (a mirror, `docker load`) then still fails
    // offline. Docker's built-in frontend (20.10 and later) has everything used here,
    // `RUN --mount=type=cache` included.
    let dockerfile = read("Dockerfile");
    for line in dockerfile.lines().take_while(|l| l.starts_with('#')) {
        let directive = line.trim_start_matches('#').trim_start().to_lowercase();
        assert!(
            !directive.starts_with("syntax="),
            "the Dockerfile asks for a frontend image: {line}"
        );
    }
}

#[test]
fn the_readme_never_copies_into_the_read_only_gopy_container() {
    // gopy's root file system is read-only and /tmp is a tmpfs: `docker compose cp` into it
    // fails ("container rootfs is marked read-only"). Files reach gopy on its stdin instead.
    let compose = read("docker-compose.yml");
    assert!(compose.contains("read_only: true"));
    for line in read("README.md").lines() {
        let line = line.trim();
        assert!(
            !(line.contains("compose cp ") && line.contains(" gopy:")),
            "README copies into the read-only gopy container: {line}"
        );
    }
}

#[test]
fn the_image_user_and_group_exist_with_the_ids_it_runs_as() {
    // `useradd --user-group` gives the group a system id (999), not the user's: the process
    // then ran as 10001:10001, a group with no name that owned nothing in the image.
    let ins = instructions();
    let user = ins
        .iter()
        .rev()
        .find_map(|i| i.strip_prefix("USER "))
        .expect("a USER");
    let (uid, gid) = user.trim().split_once(':').expect("USER names uid:gid");
    let flag = |command: &str, name: &str| -> Option<String> {
        ins.iter().find_map(|i| {
            let at = i.find(command)?;
            let words: Vec<&str> = i[at..].split_whitespace().collect();
            let pos = words.iter().position(|w| *w == name)?;
            words.get(pos + 1).map(|w| (*w).to_owned())
        })
    };
    assert_eq!(
        flag("useradd", "--uid").as_deref(),
        Some(uid),
        "useradd --uid"
    );
    assert_eq!(
        flag("useradd", "--gid").as_deref(),
        Some(gid),
        "useradd --gid"
    );
    assert_eq!(
        flag("groupadd", "--gid").as_deref(),
        Some(gid),
        "groupadd --gid"
    );
}
