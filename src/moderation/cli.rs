//! `gopy moderation …`: check a text, measure the detector on a labelled file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

use super::{DEFAULT_THRESHOLD, Detector, Evaluation, Lexicon, read_vihos};
use crate::cli::exit;
use crate::config::Settings;

/// `gopy moderation …`
#[derive(Debug, clap::Args)]
pub struct ModerationArgs {
    /// Thư mục danh sách từ (mặc định: danh sách có sẵn) / word-list folder (default: built in).
    #[arg(long, global = true, env = "GOPY_MODERATION_DIR")]
    pub lexicon: Option<PathBuf>,

    /// Ngưỡng điểm để đưa vào hàng chờ / score from which a message is queued.
    #[arg(long, global = true, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: u32,

    /// What to do.
    #[command(subcommand)]
    pub command: ModerationCmd,
}

/// Subcommands of `gopy moderation`.
#[derive(Debug, Subcommand)]
pub enum ModerationCmd {
    /// Kiểm tra một đoạn văn bản / assess one text and show what matched.
    Check {
        /// The text.
        text: String,
    },
    /// Đo độ chính xác trên tệp có nhãn (ViHOS) / precision and recall on labelled files.
    Eval {
        /// ViHOS CSV files (`,content,index_spans`).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// In ra các trường hợp sai / print this many misses of each kind.
        #[arg(long, default_value_t = 0)]
        show_misses: usize,
        /// Ghi từng dòng (nhãn, điểm, từ khớp) ra tệp JSON Lines / write every row's label,
        /// score and matches to this JSON Lines file, for tuning the lists.
        #[arg(long)]
        dump: Option<PathBuf>,
    },
}

/// Runs `gopy moderation …`.
pub async fn run(_settings: &Settings, args: ModerationArgs) -> anyhow::Result<ExitCode> {
    let detector = match detector(args.lexicon.as_deref(), args.threshold) {
        Ok(d) => d,
        Err(code) => return Ok(code),
    };
    match args.command {
        ModerationCmd::Check { text } => {
            check(&detector, &text);
            Ok(ExitCode::SUCCESS)
        }
        ModerationCmd::Eval {
            files,
            show_misses,
            dump,
        } => eval(&detector, &files, show_misses, dump.as_deref()),
    }
}

/// The detector from the built-in lists or a folder; a broken list ends with exit code 65.
fn detector(dir: Option<&Path>, threshold: u32) -> Result<Detector, ExitCode> {
    let lexicon = match dir {
        Some(dir) => Lexicon::load_dir(dir),
        None => Lexicon::built_in(),
    };
    match lexicon {
        Ok(l) => Ok(Detector::new(l, threshold)),
        Err(e) => {
            eprintln!("Danh sách từ có lỗi / a word list is broken: {e}");
            Err(ExitCode::from(exit::DATA))
        }
    }
}

fn check(detector: &Detector, text: &str) {
    let a = detector.assess(text);
    let verdict = if a.flagged {
        "ĐƯA VÀO HÀNG CHỜ / queued for review"
    } else {
        "không gắn cờ / not flagged"
    };
    println!("{verdict} — điểm / score {}", a.score);
    println!("{}", a.highlight(text));
    for m in &a.matches {
        println!("  {:<14} {:>2}  {}", m.category.as_str(), m.weight, m.term);
    }
}

fn eval(
    detector: &Detector,
    files: &[PathBuf],
    show_misses: usize,
    dump: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    use std::io::Write as _;
    let mut dump = match dump {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    println!(
        "{:<40} {:>6} {:>9} {:>7} {:>6}",
        "file", "rows", "precision", "recall", "FPR"
    );
    for file in files {
        let data = match read_vihos(file) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("Không đọc được / cannot read: {e:#}");
                return Ok(ExitCode::from(exit::NOINPUT));
            }
        };
        let e = Evaluation::run(detector, &data);
        println!(
            "{:<40} {:>6} {:>8.1}% {:>6.1}% {:>5.1}%",
            file.display(),
            data.len(),
            e.precision() * 100.0,
            e.recall() * 100.0,
            e.false_positive_rate() * 100.0
        );
        if let Some(out) = dump.as_mut() {
            for item in &data {
                let a = detector.assess(&item.text);
                let line = serde_json::json!({
                    "file": file.display().to_string(),
                    "offensive": item.offensive,
                    "text": item.text,
                    "score": a.score,
                    "matches": a.matches.iter().map(|m| (&m.term, m.weight)).collect::<Vec<_>>(),
                });
                writeln!(out, "{line}")?;
            }
        }
        if show_misses > 0 {
            let mut fps = 0;
            let mut fns = 0;
            for item in &data {
                let a = detector.assess(&item.text);
                if a.flagged && !item.offensive && fps < show_misses {
                    fps += 1;
                    println!("  FP {}", a.highlight(&item.text));
                } else if !a.flagged && item.offensive && fns < show_misses {
                    fns += 1;
                    println!("  FN {}", item.text);
                }
            }
        }
    }
    if let Some(mut out) = dump {
        out.flush()?;
    }
    Ok(ExitCode::SUCCESS)
}
