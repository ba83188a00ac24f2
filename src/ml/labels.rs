//! The label set (`config/labels.txt`: tags and the prompts that describe them), its text
//! embeddings (one vector per label) and the rule that turns an image embedding into auto-tags.

use std::path::Path;

use super::{ClipModel, MlError, dot, normalize};

/// The label file shipped with CloudVault, used when `[ml] labels` is not set.
pub const BUILTIN_LABELS: &str = include_str!("../../config/labels.txt");

/// One tag and the prompts whose embeddings describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    pub prompts: Vec<String>,
}

/// A parsed label file. Format (also at the top of `config/labels.txt`):
/// ```text
/// # comment
/// @template a photo of a {}.        prompt template, `{}` = a phrase; every template applies to every phrase
/// beach                             label "beach", phrase "beach"
/// dog: puppy                        label "dog", phrases "dog" and "puppy" (`;` separates phrases)
/// receipt: "a scanned receipt"      a quoted item is a complete prompt, used as is
/// ```
/// "a {}" becomes "an {}" before a phrase starting with a vowel. Names are lower-cased and unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet {
    labels: Vec<Label>,
}

impl LabelSet {
    /// Reads and parses a label file.
    pub fn load(path: &Path) -> Result<LabelSet, MlError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            MlError::ModelMissing(format!(
                "cannot read the label file {}: {e}",
                path.display()
            ))
        })?;
        LabelSet::parse(&text).map_err(|e| MlError::BadModel(format!("{}: {e}", path.display())))
    }

    /// The file at `path` (`[ml] labels`), or the built-in set when none is configured.
    pub fn load_or_builtin(path: Option<&Path>) -> Result<LabelSet, MlError> {
        match path {
            Some(p) => LabelSet::load(p),
            None => Ok(LabelSet::builtin()),
        }
    }

    /// The label file compiled into the binary (a copy of `config/labels.txt`).
    pub fn builtin() -> LabelSet {
        LabelSet::parse(BUILTIN_LABELS).expect("config/labels.txt parses (checked by a unit test)")
    }

    /// Parses label-file text (format in the type's docs).
    pub fn parse(text: &str) -> Result<LabelSet, MlError> {
        let err =
            |line: usize, msg: String| MlError::BadModel(format!("labels line {line}: {msg}"));
        let mut templates: Vec<String> = Vec::new();
        let mut raw: Vec<(usize, String, Vec<Item>)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(t) = line.strip_prefix("@template") {
                let t = t.trim();
                if t.matches("{}").count() != 1 {
                    return Err(err(
                        n,
                        format!("template {t:?} must contain {{}} exactly once"),
                    ));
                }
                templates.push(t.to_string());
                continue;
            }
            if line.starts_with('@') {
                return Err(err(
                    n,
                    format!("unknown directive {line:?} (only @template)"),
                ));
            }
            let (name, rest) = match line.split_once(':') {
                Some((name, rest)) => (name, rest),
                None => (line, ""),
            };
            let name = name.trim().to_lowercase();
            if name.is_empty()
                || name.chars().count() > 64
                || name.contains(['"', ';', '{', '}', '/'])
            {
                return Err(err(
                    n,
                    format!(
                        "bad label name {name:?} (1-64 characters, no quotes, ';', braces or '/')"
                    ),
                ));
            }
            let mut items = vec![Item::Phrase(name.clone())];
            for part in rest.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                if let Some(q) = part.strip_prefix('"') {
                    let q = q
                        .strip_suffix('"')
                        .ok_or_else(|| err(n, format!("unterminated quote in {part:?}")))?;
                    if q.trim().is_empty() {
                        return Err(err(n, "empty quoted prompt".into()));
                    }
                    items.push(Item::Prompt(q.trim().to_string()));
                } else {
                    if part.contains('"') {
                        return Err(err(n, format!("quote inside phrase {part:?}")));
                    }
                    items.push(Item::Phrase(part.to_string()));
                }
            }
            if let Some((first, _, _)) = raw.iter().find(|(_, other, _)| *other == name) {
                return Err(err(
                    n,
                    format!("label {name:?} is already defined on line {first}"),
                ));
            }
            raw.push((n, name, items));
        }
        if raw.is_empty() {
            return Err(MlError::BadModel("the label file defines no labels".into()));
        }
        if templates.is_empty() {
            return Err(MlError::BadModel(
                "the label file has no @template line".into(),
            ));
        }
        let labels = raw
            .into_iter()
            .map(|(_, name, items)| {
                let mut prompts = Vec::new();
                for item in items {
                    match item {
                        Item::Phrase(p) => prompts.extend(templates.iter().map(|t| fill(t, &p))),
                        Item::Prompt(p) => prompts.push(p),
                    }
                }
                prompts.dedup();
                Label { name, prompts }
            })
            .collect();
        Ok(LabelSet { labels })
    }

    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// Number of prompts to embed in [`LabelIndex::build`].
    pub fn prompt_count(&self) -> usize {
        self.labels.iter().map(|l| l.prompts.len()).sum()
    }

    /// A short hash of every label and prompt: a cache of label embeddings is valid for one
    /// (model id, label fingerprint) pair, so editing the label file invalidates it.
    pub fn fingerprint(&self) -> String {
        let mut h = blake3::Hasher::new();
        for l in &self.labels {
            h.update(l.name.as_bytes());
            h.update(&[0]);
            for p in &l.prompts {
                h.update(p.as_bytes());
                h.update(&[1]);
            }
            h.update(&[2]);
        }
        h.finalize().to_hex()[..12].to_string()
    }
}

enum Item {
    Phrase(String),
    Prompt(String),
}

fn fill(template: &str, phrase: &str) -> String {
    let starts_with_vowel = phrase
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    if let Some(i) = template.find("a {}").filter(|_| starts_with_vowel) {
        let at_word_start = i == 0 || template[..i].ends_with(' ');
        if at_word_start {
            return format!("{}an {phrase}{}", &template[..i], &template[i + 4..]);
        }
    }
    template.replacen("{}", phrase, 1)
}

/// The auto-tag rule. CLIP zero-shot classification turns cosines into probabilities with a
/// softmax at CLIP's learned logit scale (100), so a tag is judged against the other labels
/// rather than against one absolute cosine: real CLIP cosines for a correct label sit around
/// 0.25–0.35 and vary from photo to photo, so a single flat threshold either tags everything or
/// nothing. A label becomes a tag when all hold:
/// - its probability is at least `min_probability` (a clear share of the whole label set — a photo
///   that matches nothing in particular spreads probability thin and gets no tags);
/// - its probability is at least `min_ratio_to_best` of the best label's (secondary tags only when
///   nearly as likely as the best: within ln(1/ratio)/scale of its cosine, ≈ 0.014 for 0.25);
/// - its cosine is at least `min_cosine` (an absolute floor for pictures unlike any label);
/// - it is among the `max_tags` best.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TagRule {
    pub logit_scale: f32,
    pub min_probability: f32,
    pub min_ratio_to_best: f32,
    pub min_cosine: f32,
    pub max_tags: usize,
}

impl Default for TagRule {
    fn default() -> Self {
        TagRule {
            logit_scale: 100.0,
            min_probability: 0.10,
            min_ratio_to_best: 0.25,
            min_cosine: 0.18,
            max_tags: 5,
        }
    }
}

/// A label's score for one picture.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelScore {
    pub name: String,
    /// Cosine between the picture and the label embedding.
    pub cosine: f32,
    /// Softmax over all labels at the rule's logit scale.
    pub probability: f32,
}

/// One unit vector per label: the mean of its prompt embeddings, renormalised (CLIP's prompt
/// ensembling). Depends on the model and the label set; the caller may cache it by
/// `(model.id(), set.fingerprint())` through [`Self::parts`] / [`Self::from_parts`].
#[derive(Debug, Clone)]
pub struct LabelIndex {
    names: Vec<String>,
    vectors: Vec<Vec<f32>>,
    rule: TagRule,
}

impl LabelIndex {
    /// Embeds every prompt of the set (slow on a big model: ~1,000 prompts, done once per model and label file).
    pub fn build(set: &LabelSet, model: &ClipModel) -> Result<LabelIndex, MlError> {
        let prompts: Vec<&str> = set
            .labels
            .iter()
            .flat_map(|l| l.prompts.iter().map(String::as_str))
            .collect();
        let embedded = model.embed_texts(&prompts)?;
        let mut rows = embedded.into_iter();
        let mut names = Vec::with_capacity(set.labels.len());
        let mut vectors = Vec::with_capacity(set.labels.len());
        for label in &set.labels {
            let mut mean = vec![0f32; model.dim()];
            for _ in 0..label.prompts.len() {
                let v = rows
                    .next()
                    .ok_or_else(|| MlError::Inference("too few text embeddings".into()))?;
                mean.iter_mut().zip(&v).for_each(|(m, x)| *m += x);
            }
            normalize(&mut mean);
            names.push(label.name.clone());
            vectors.push(mean);
        }
        Ok(LabelIndex {
            names,
            vectors,
            rule: TagRule::default(),
        })
    }

    /// Rebuilds an index from cached parts (same order as [`Self::parts`] returned them).
    pub fn from_parts(names: Vec<String>, vectors: Vec<Vec<f32>>) -> LabelIndex {
        assert_eq!(names.len(), vectors.len(), "one vector per label name");
        LabelIndex {
            names,
            vectors,
            rule: TagRule::default(),
        }
    }

    pub fn parts(&self) -> (&[String], &[Vec<f32>]) {
        (&self.names, &self.vectors)
    }

    /// The same index with another tag rule.
    pub fn with_rule(mut self, rule: TagRule) -> LabelIndex {
        self.rule = rule;
        self
    }

    pub fn rule(&self) -> &TagRule {
        &self.rule
    }

    /// Every label's cosine and probability for a picture, best first.
    pub fn scores(&self, image_embedding: &[f32]) -> Vec<LabelScore> {
        let cos: Vec<f32> = self
            .vectors
            .iter()
            .map(|v| dot(v, image_embedding))
            .collect();
        let best = cos.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exps: Vec<f32> = cos
            .iter()
            .map(|c| ((c - best) * self.rule.logit_scale).exp())
            .collect();
        let sum: f32 = exps.iter().sum();
        let mut scores: Vec<LabelScore> = self
            .names
            .iter()
            .zip(cos.iter().zip(&exps))
            .map(|(name, (&cosine, &e))| LabelScore {
                name: name.clone(),
                cosine,
                probability: e / sum,
            })
            .collect();
        scores.sort_by(|a, b| b.cosine.total_cmp(&a.cosine));
        scores
    }

    /// The auto-tags of a picture by the index's [`TagRule`], best first, with their probabilities.
    pub fn tags_for(&self, image_embedding: &[f32]) -> Vec<(String, f32)> {
        let rule = self.rule;
        let scores = self.scores(image_embedding);
        let Some(best) = scores.first().map(|s| s.probability) else {
            return Vec::new();
        };
        scores
            .into_iter()
            .take(rule.max_tags)
            .take_while(|s| {
                s.probability >= rule.min_probability
                    && s.probability >= best * rule.min_ratio_to_best
                    && s.cosine >= rule.min_cosine
            })
            .map(|s| (s.name, s.probability))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_parses() {
        let set = LabelSet::parse(
            "# test\n@template a photo of a {}.\n@template a picture of the {}\n\nBeach\ndog: puppy; \"a dog running\"\napple\n",
        )
        .unwrap();
        let names: Vec<_> = set.labels().iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["beach", "dog", "apple"]);
        assert_eq!(
            set.labels()[0].prompts,
            ["a photo of a beach.", "a picture of the beach"]
        );
        assert_eq!(
            set.labels()[1].prompts,
            [
                "a photo of a dog.",
                "a picture of the dog",
                "a photo of a puppy.",
                "a picture of the puppy",
                "a dog running"
            ]
        );
        assert_eq!(set.labels()[2].prompts[0], "a photo of an apple.");
        assert_eq!(set.prompt_count(), 2 + 5 + 2);
    }

    #[test]
    fn mistakes_are_reported_with_their_line() {
        for (text, want) in [
            ("@template a photo\nx\n", "line 1"),
            ("@template {}\ndog\ndog\n", "already defined on line 2"),
            ("@template {}\ndog: \"unterminated\n", "unterminated"),
            ("@templat {}\ndog\n", "unknown directive"),
            ("dog\n", "no @template"),
            ("@template {}\n", "no labels"),
        ] {
            let e = LabelSet::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn the_shipped_label_file_is_big_and_valid() {
        let set = LabelSet::builtin();
        assert!(set.labels().len() >= 300, "{} labels", set.labels().len());
        for must in [
            "red",
            "green",
            "blue",
            "beach",
            "sunset",
            "city at night",
            "snow",
            "birthday",
            "wedding",
            "receipt",
            "screenshot",
        ] {
            assert!(
                set.labels().iter().any(|l| l.name == must),
                "{must} missing"
            );
        }
        assert!(
            set.prompt_count() < 1500,
            "{} prompts make the index slow to build",
            set.prompt_count()
        );
        assert_ne!(
            set.fingerprint(),
            LabelSet::parse("@template {}\nx\n").unwrap().fingerprint()
        );
    }

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalize(&mut v);
        v
    }

    #[test]
    fn the_tag_rule_keeps_clear_winners_and_close_seconds_only() {
        // Three labels along axes; a fourth close to the first.
        let idx = LabelIndex::from_parts(
            vec!["dog".into(), "beach".into(), "car".into(), "puppy".into()],
            vec![
                unit(&[1., 0., 0.]),
                unit(&[0., 1., 0.]),
                unit(&[0., 0., 1.]),
                unit(&[1., 0.017, 0.]),
            ],
        );
        // Dog on a beach at CLIP-like magnitudes: cosines puppy 0.305, dog 0.300, beach 0.295, car 0.20.
        let img = [0.30f32, 0.295, 0.20];
        let tags = idx.tags_for(&img);
        let names: Vec<_> = tags.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["puppy", "dog", "beach"], "{:?}", idx.scores(&img));
        assert!(tags.windows(2).all(|w| w[0].1 >= w[1].1));
        // A picture equally unlike everything: no tag clears min_probability... or the cosine floor.
        assert!(idx.tags_for(&[0.1, 0.1, 0.1]).is_empty());
        // Far ahead: only the winner.
        let tags = idx.tags_for(&[0.0, 0.0, 0.35]);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].0, "car");
        assert!(tags[0].1 > 0.9);
        let strict = idx.clone().with_rule(TagRule {
            max_tags: 1,
            ..TagRule::default()
        });
        assert_eq!(strict.tags_for(&img).len(), 1);
    }
}
