//! The template environment: every console template embedded in the binary, HTML
//! auto-escaping on, and `t("message-id", name=value)` that looks the message up in the
//! page's language (`lang`) through the shared [`Localizer`].

use std::sync::Arc;

use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, State, Value};

use crate::dialog::{Arg, Msg};
use crate::domain::Locale;
use crate::i18n::{Localizer, Markup};

/// The embedded templates, by file name under `templates/console/`.
macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../templates/console/", $name)))),*]
    };
}

/// Every template, by name.
const TEMPLATES: &[(&str, &str)] = templates![
    "base.html",
    "error.html",
    "login.html",
    "password.html",
    "home.html",
    "broadcasts.html",
    "broadcast_new.html",
    "broadcast.html",
    "moderation.html",
    "moderation_log.html",
    "opinions.html",
    "staff.html",
    "audit.html",
    "public.html",
    "public_message.html",
    "campaigns.html",
    "campaign.html",
    "groups.html",
    "opinion_record.html",
    "campaign_form.html",
    "synthesis_index.html",
    "synthesis.html",
    "synthesis_groups.html",
    "opinion_import.html",
];

/// The console's templates.
pub struct Views {
    /// The environment holding them.
    env: Environment<'static>,
    /// The messages.
    l10n: Arc<Localizer>,
}

impl Views {
    /// Loads the embedded templates; fails at start-up if one does not parse.
    pub fn new(l10n: Arc<Localizer>) -> anyhow::Result<Self> {
        let mut env = Environment::new();
        let messages = l10n.clone();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        for (name, source) in TEMPLATES.iter().copied() {
            env.add_template(name, source)
                .map_err(|e| anyhow::anyhow!("the template {name} does not parse: {e}"))?;
        }
        env.add_filter("urlencode", |s: String| super::web::urlencode(&s));
        env.add_filter("short", |s: String, n: usize| -> String {
            if s.chars().count() > n {
                let mut cut: String = s.chars().take(n.saturating_sub(1)).collect();
                cut.push('…');
                cut
            } else {
                s
            }
        });
        env.add_function(
            "t",
            move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
                let lang = state
                    .lookup("lang")
                    .and_then(|v| v.as_str().and_then(Locale::parse))
                    .unwrap_or_default();
                let mut args = Vec::new();
                for name in kwargs.args() {
                    let value: Value = kwargs.get(name)?;
                    let arg = match (value.kind(), i64::try_from(value.clone())) {
                        (ValueKind::Number, Ok(n)) => Arg::Num(n),
                        _ => Arg::Text(value.to_string()),
                    };
                    args.push((name.to_owned(), arg));
                }
                kwargs.assert_all_used()?;
                let msg = Msg {
                    key: key.to_owned(),
                    args,
                };
                Ok(l10n.msg(lang, &msg, Markup::Plain))
            },
        );
        Ok(Self {
            env,
            l10n: messages,
        })
    }

    /// One message in plain text (for text the page shows as it is, such as the consent
    /// notice).
    pub fn text(&self, lang: Locale, msg: &Msg, markup: Markup) -> String {
        self.l10n.msg(lang, msg, markup)
    }

    /// Renders a template with its context.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name)?.render(ctx)
    }
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    fn views() -> Views {
        Views::new(Arc::new(Localizer::new().expect("localizer"))).expect("views")
    }

    #[test]
    fn no_template_has_inline_styles_or_scripts_the_csp_would_drop() {
        for (name, source) in TEMPLATES {
            assert!(!source.contains(" style="), "{name} has an inline style");
            assert!(!source.contains("<script>"), "{name} has an inline script");
            assert!(
                !source.contains("http://") && !source.contains("https://"),
                "{name} loads from elsewhere"
            );
        }
    }

    #[test]
    fn the_login_page_renders_in_both_languages_with_escaped_values() {
        let v = views();
        for lang in ["vi", "en"] {
            let html = v
                .render(
                    "login.html",
                    context! {
                        lang => lang, other_lang => "en", path => "/console/login", me => (),
                        nav => Vec::<String>::new(), csrf => (), name => "<b>x</b>",
                        next => "/console", login_csrf => "tok", error => "console-login-failed",
                        minutes => 15, bye => false,
                    },
                )
                .unwrap_or_else(|e| panic!("{e:#}"));
            assert!(
                html.contains("&lt;b&gt;x&lt;") && !html.contains("<b>x"),
                "{html}"
            );
            assert!(html.contains("name=\"csrf\" value=\"tok\""));
        }
    }
}
