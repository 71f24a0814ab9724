//! One catalogue of French and English strings (Fluent), shared by the
//! command line and the web page. French is the product's first language:
//! it is the default whenever the environment does not ask for English.

use std::sync::LazyLock;

// The concurrent flavour is `Sync`: one catalogue per language serves every
// thread of the node (web requests, API commands).
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// One file per part of the product, so the command line and each page of
/// the web page keep their strings apart; a message id is unique across all
/// of a language's files (checked below).
macro_rules! catalogue_files {
    ($lang:literal) => {
        [
            include_str!(concat!("../locales/", $lang, "/cli.ftl")),
            include_str!(concat!("../locales/", $lang, "/web.ftl")),
            include_str!(concat!("../locales/", $lang, "/offers.ftl")),
            include_str!(concat!("../locales/", $lang, "/agenda.ftl")),
            include_str!(concat!("../locales/", $lang, "/exchanges.ftl")),
            include_str!(concat!("../locales/", $lang, "/community.ftl")),
            include_str!(concat!("../locales/", $lang, "/indicators.ftl")),
            include_str!(concat!("../locales/", $lang, "/api.ftl")),
        ]
    };
}

const FRENCH: [&str; 8] = catalogue_files!("fr");
const ENGLISH: [&str; 8] = catalogue_files!("en");

/// The languages maillage speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Fr,
    En,
}

impl Lang {
    /// Reads `LC_ALL`, `LC_MESSAGES` then `LANG`, as gettext does: English
    /// when the first one set starts with `en`, French otherwise.
    pub fn from_env() -> Lang {
        let chosen = ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .find(|value| !value.is_empty());
        match chosen {
            Some(value) => Lang::from_tag(&value),
            None => Lang::Fr,
        }
    }

    /// `en`, `en_GB.UTF-8`, `en-US` → English; anything else → French.
    pub fn from_tag(tag: &str) -> Lang {
        if tag.to_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::Fr
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
        }
    }
}

/// A loaded catalogue for one language.
pub struct Catalog {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Catalog({})", self.lang.code())
    }
}

impl Catalog {
    pub fn new(lang: Lang) -> Catalog {
        let (source, tag) = match lang {
            Lang::Fr => (FRENCH, "fr"),
            Lang::En => (ENGLISH, "en"),
        };
        let id: LanguageIdentifier = tag.parse().unwrap_or_default();
        let mut bundle = FluentBundle::new_concurrent(vec![id]);
        // Terminals and log files do not want Unicode isolation marks around
        // every argument.
        bundle.set_use_isolating(false);
        // The catalogues are part of the binary and checked by the tests below,
        // so a parse error here is a build mistake; keep what parsed.
        for file in source {
            let resource = FluentResource::try_new(file.to_owned()).unwrap_or_else(|(partial, _)| partial);
            let _ = bundle.add_resource(resource);
        }
        Catalog { lang, bundle }
    }

    /// The catalogue of `lang`, parsed once per process.
    pub fn shared(lang: Lang) -> &'static Catalog {
        static FR: LazyLock<Catalog> = LazyLock::new(|| Catalog::new(Lang::Fr));
        static EN: LazyLock<Catalog> = LazyLock::new(|| Catalog::new(Lang::En));
        match lang {
            Lang::Fr => &FR,
            Lang::En => &EN,
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The message `id` with `args`; the id itself if the message is missing
    /// (visible, but never a crash).
    pub fn t(&self, id: &str, args: &[(&str, &str)]) -> String {
        let Some(message) = self.bundle.get_message(id) else {
            return id.to_owned();
        };
        let Some(pattern) = message.value() else {
            return id.to_owned();
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, FluentValue::from(*value));
        }
        let mut errors = Vec::new();
        self.bundle
            .format_pattern(pattern, Some(&fluent_args), &mut errors)
            .into_owned()
    }

    /// Translates a state, kind or answer word, falling back to the word itself.
    pub fn word(&self, prefix: &str, word: &str) -> String {
        let id = format!("{prefix}-{word}");
        let text = self.t(&id, &[]);
        if text == id { word.to_owned() } else { text }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(files: &[&str]) -> Vec<String> {
        let mut ids = Vec::new();
        for source in files {
            let resource = FluentResource::try_new((*source).to_owned()).expect("catalogue parses");
            ids.extend(resource.entries().filter_map(|entry| match entry {
                fluent_syntax::ast::Entry::Message(message) => Some(message.id.name.to_owned()),
                _ => None,
            }));
        }
        ids
    }

    #[test]
    fn both_catalogues_parse_and_hold_the_same_messages_once() {
        let mut french = ids(&FRENCH);
        let mut english = ids(&ENGLISH);
        french.sort();
        english.sort();
        let mut unique = french.clone();
        unique.dedup();
        assert_eq!(french, unique, "a message id appears in two French files");
        for (f, e) in french.iter().zip(&english) {
            assert_eq!(f, e, "the French and English catalogues differ");
        }
        assert_eq!(french.len(), english.len());
    }

    #[test]
    fn messages_format_with_arguments_in_both_languages() {
        let fr = Catalog::new(Lang::Fr);
        let en = Catalog::new(Lang::En);
        assert_eq!(fr.t("offer-added", &[("id", "abcd")]), "Offre publiée : abcd");
        assert_eq!(en.t("offer-added", &[("id", "abcd")]), "Offer posted: abcd");
        assert_eq!(fr.word("state", "open"), "ouverte");
        assert_eq!(fr.word("state", "unheard-of"), "unheard-of");
    }

    #[test]
    fn language_follows_the_environment_tags() {
        assert_eq!(Lang::from_tag("en_GB.UTF-8"), Lang::En);
        assert_eq!(Lang::from_tag("fr_FR.UTF-8"), Lang::Fr);
        assert_eq!(Lang::from_tag("C.UTF-8"), Lang::Fr);
    }
}
