//! The CLIP path end to end with the real ONNX Runtime, the real tokenizer and the tiny colour
//! model of `scripts/make-test-model.py` (images embed by colour, colour words embed to match).
//! `scripts/test.sh` provides both through CLOUDVAULT_TEST_ORT_LIB and CLOUDVAULT_TEST_MODEL_DIR.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::{Rgb, RgbImage};

use super::weights::{self, Weights, WeightsSetting};
use super::*;

fn required_path(var: &str, what: &str) -> PathBuf {
    let v = std::env::var_os(var).unwrap_or_else(|| {
        panic!("{var} is not set: this test needs {what}. scripts/test.sh prepares it (see the ML block there)")
    });
    let p = PathBuf::from(v);
    assert!(p.exists(), "{var}={} does not exist: {what}", p.display());
    p
}

pub(crate) fn test_model_dir() -> PathBuf {
    required_path(
        "CLOUDVAULT_TEST_MODEL_DIR",
        "the test model (python3 scripts/make-test-model.py DIR)",
    )
}

fn runtime() {
    let lib = required_path(
        "CLOUDVAULT_TEST_ORT_LIB",
        "libonnxruntime.so (scripts/fetch-onnxruntime.sh DIR)",
    );
    init_runtime(&lib).unwrap();
    assert!(runtime_ready());
}

fn model() -> &'static ClipModel {
    static MODEL: OnceLock<ClipModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        runtime();
        ClipModel::load(
            &test_model_dir(),
            &ClipOptions {
                threads: 2,
                batch_size: 4,
                ..ClipOptions::default()
            },
        )
        .unwrap()
    })
}

/// A photo-like picture of one colour: shading and a little texture, not a flat fill.
fn picture(rgb: [u8; 3], w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let shade =
            0.85 + 0.15 * (x as f32 / w as f32) - 0.05 * ((x * 7 + y * 13) % 5) as f32 / 5.0;
        Rgb(rgb.map(|c| (c as f32 * shade).clamp(0.0, 255.0) as u8))
    })
}

const COLOURS: [(&str, [u8; 3]); 6] = [
    ("red", [230, 20, 20]),
    ("green", [20, 220, 30]),
    ("blue", [25, 30, 235]),
    ("yellow", [240, 235, 20]),
    ("white", [250, 250, 250]),
    ("black", [8, 8, 8]),
];

#[test]
fn the_tokenizer_is_clips() {
    let ids = model().tokenize("a photo of a cat").unwrap();
    assert_eq!(ids.len(), 77);
    assert_eq!(&ids[..8], &[49406, 320, 1125, 539, 320, 2368, 49407, 0]);
    assert!(ids[8..].iter().all(|&i| i == 0));
    let long = "word ".repeat(200);
    let ids = model().tokenize(&long).unwrap();
    assert_eq!(
        (ids.len(), ids[0], ids[76]),
        (77, 49406, 49407),
        "truncated, end token kept"
    );
    assert_eq!(
        model().tokenize("  A   photo\tof a CAT ").unwrap()[..7],
        [49406, 320, 1125, 539, 320, 2368, 49407]
    );
}

#[test]
fn the_model_describes_itself() {
    let m = model();
    assert_eq!(m.dim(), 32);
    assert_eq!(m.image_size(), 224);
    assert_eq!(m.context_length(), 77);
    let name = test_model_dir()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (folder, hash) = m.id().split_once('@').unwrap();
    assert_eq!(folder, name);
    assert!(
        hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        m.id()
    );
    let again = ClipModel::load(&test_model_dir(), &ClipOptions::default()).unwrap();
    assert_eq!(again.id(), m.id(), "the id is stable");
}

#[test]
fn pictures_rank_their_own_colour_word_first() {
    let m = model();
    let words: Vec<&str> = COLOURS.iter().map(|(w, _)| *w).collect();
    let texts = m.embed_texts(&words).unwrap();
    let imgs: Vec<RgbImage> = COLOURS
        .iter()
        .map(|(_, rgb)| picture(*rgb, 320, 240))
        .collect();
    let embs = m.embed_images(&imgs).unwrap();
    assert_eq!(embs.len(), COLOURS.len());
    for (i, emb) in embs.iter().enumerate() {
        assert_eq!(emb.len(), 32);
        assert!(
            (dot(emb, emb) - 1.0).abs() < 1e-4,
            "image embeddings are unit length"
        );
        let sims: Vec<f32> = texts.iter().map(|t| dot(emb, t)).collect();
        let best = sims
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(words[best], words[i], "{} picture: {sims:?}", words[i]);
        assert!(
            sims[i] > 0.6,
            "{} picture vs its word: {}",
            words[i],
            sims[i]
        );
    }
    // Sentences work through the same path, and other words barely matter.
    let [sentence, dog] = m
        .embed_texts(&["a photo of something RED on a table", "a dog"])
        .unwrap()
        .try_into()
        .unwrap();
    assert!(dot(&embs[0], &sentence) > 0.8);
    assert!(
        dot(&embs[0], &dog).abs() < 0.05,
        "non-colour words are orthogonal to pictures"
    );
    assert!(
        (dot(&sentence, &sentence) - 1.0).abs() < 1e-4,
        "text embeddings are unit length"
    );
}

#[test]
fn the_label_index_tags_a_red_picture_red() {
    let m = model();
    let set = LabelSet::builtin();
    let index = LabelIndex::build(&set, m).unwrap();
    let (names, vectors) = index.parts();
    assert_eq!(names.len(), set.labels().len());
    assert!(
        vectors
            .iter()
            .all(|v| v.len() == 32 && (dot(v, v) - 1.0).abs() < 1e-4)
    );

    let emb = m
        .embed_images(&[picture([230, 20, 20], 640, 480)])
        .unwrap()
        .remove(0);
    let tags = index.tags_for(&emb);
    assert_eq!(tags.first().map(|t| t.0.as_str()), Some("red"), "{tags:?}");
    assert!(!tags.iter().any(|(t, _)| t == "blue"), "{tags:?}");
    assert!(tags[0].1 > 0.5);
    let blue = m
        .embed_images(&[picture([25, 30, 235], 200, 300)])
        .unwrap()
        .remove(0);
    assert_eq!(index.tags_for(&blue)[0].0, "blue");

    // The cached form gives the same answers.
    let cached = LabelIndex::from_parts(names.to_vec(), vectors.to_vec());
    assert_eq!(cached.tags_for(&emb), tags);
}

#[test]
fn batches_give_the_same_embeddings_as_one_by_one() {
    let m = model(); // batch_size 4: 7 pictures run as 4 + 3, the second prepared while the first runs
    let imgs: Vec<RgbImage> = (0..7u32)
        .map(|i| {
            RgbImage::from_fn(180 + i * 37, 260 - i * 11, |x, y| {
                Rgb([
                    (x * (i + 1) % 256) as u8,
                    (y * 3 % 256) as u8,
                    (40 * i % 256) as u8,
                ])
            })
        })
        .collect();
    let batched = m.embed_images(&imgs).unwrap();
    assert_eq!(batched.len(), 7);
    for (i, img) in imgs.iter().enumerate() {
        let single = m.embed_images(std::slice::from_ref(img)).unwrap().remove(0);
        let diff = single
            .iter()
            .zip(&batched[i])
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-5, "picture {i}: max difference {diff}");
    }
    assert!(m.embed_images(&[]).unwrap().is_empty());
    assert!(m.embed_texts(&[]).unwrap().is_empty());

    // Texts batch the same way.
    let words = [
        "red",
        "a green car",
        "blue sky",
        "yellow",
        "dog",
        "black and white",
        "grey cat",
    ];
    let batched = m.embed_texts(&words).unwrap();
    for (i, w) in words.iter().enumerate() {
        assert_eq!(m.embed_texts(&[w]).unwrap()[0], batched[i], "{w}");
    }
}

#[test]
fn files_are_decoded_and_embedded_with_one_result_each() {
    let m = model();
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, (name, rgb)) in COLOURS.iter().enumerate() {
        let p = dir.path().join(format!("{i}-{name}.jpg"));
        picture(*rgb, 900, 600).save(&p).unwrap();
        paths.push(p);
    }
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"\xFF\xD8\xFFnot really a jpeg").unwrap();
    paths.insert(2, broken);
    paths.push(dir.path().join("missing.png"));
    let results = m.embed_files(&paths);
    assert_eq!(results.len(), paths.len());
    assert!(
        matches!(results[2], Err(MlError::Inference(_))),
        "{:?}",
        results[2]
    );
    assert!(results.last().unwrap().is_err());
    let words: Vec<&str> = COLOURS.iter().map(|(w, _)| *w).collect();
    let texts = m.embed_texts(&words).unwrap();
    let good: Vec<&Vec<f32>> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(good.len(), COLOURS.len());
    for (i, emb) in good.iter().enumerate() {
        let best = (0..texts.len())
            .max_by(|a, b| dot(emb, &texts[*a]).total_cmp(&dot(emb, &texts[*b])))
            .unwrap();
        assert_eq!(best, i, "{} file", words[i]);
    }
    // Decoding at 1/2 scale changes the embedding of a flat-ish picture only slightly.
    let full = m
        .embed_images(&[image::open(&paths[0]).unwrap().to_rgb8()])
        .unwrap()
        .remove(0);
    assert!(dot(&full, good[0]) > 0.999);
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn missing_and_broken_model_files_are_clear_errors() {
    runtime();
    let tmp = tempfile::tempdir().unwrap();
    let err = ClipModel::load(&tmp.path().join("nowhere"), &ClipOptions::default()).unwrap_err();
    assert!(matches!(err, MlError::ModelMissing(_)), "{err}");
    assert!(err.to_string().contains("model fetch"), "{err}");

    for (file, want) in [
        ("textual/tokenizer_config.json", "tokenizer_config.json"),
        ("visual/model.onnx", "visual/model.onnx"),
    ] {
        let dir = tmp.path().join(file.replace('/', "_"));
        std::fs::create_dir_all(&dir).unwrap();
        copy_dir(&test_model_dir(), &dir);
        std::fs::remove_file(dir.join(file)).unwrap();
        let err = ClipModel::load(&dir, &ClipOptions::default()).unwrap_err();
        assert!(matches!(err, MlError::ModelMissing(_)), "{err}");
        assert!(err.to_string().contains(want), "{err}");
    }

    let dir = tmp.path().join("corrupt");
    std::fs::create_dir_all(&dir).unwrap();
    copy_dir(&test_model_dir(), &dir);
    std::fs::write(dir.join("visual/model.onnx"), b"this is not an ONNX graph").unwrap();
    let err = ClipModel::load(&dir, &ClipOptions::default()).unwrap_err();
    assert!(matches!(err, MlError::BadModel(_)), "{err}");
    assert!(err.to_string().contains("visual/model.onnx"), "{err}");

    std::fs::copy(
        test_model_dir().join("visual/model.onnx"),
        dir.join("visual/model.onnx"),
    )
    .unwrap();
    std::fs::write(
        dir.join("visual/preprocess_cfg.json"),
        br#"{"size": 224, "mean": [0.5], "std": [0.5], "resize_mode": "zoom"}"#,
    )
    .unwrap();
    let err = ClipModel::load(&dir, &ClipOptions::default()).unwrap_err();
    assert!(
        matches!(err, MlError::BadModel(_)) && err.to_string().contains("zoom"),
        "{err}"
    );

    // The textual encoder swapped for the visual one: wrong inputs, named.
    std::fs::copy(
        test_model_dir().join("visual/preprocess_cfg.json"),
        dir.join("visual/preprocess_cfg.json"),
    )
    .unwrap();
    std::fs::copy(
        test_model_dir().join("visual/model.onnx"),
        dir.join("textual/model.onnx"),
    )
    .unwrap();
    let err = ClipModel::load(&dir, &ClipOptions::default()).unwrap_err();
    assert!(
        matches!(err, MlError::BadModel(_)) && err.to_string().contains("int32/int64"),
        "{err}"
    );
}

#[test]
fn a_missing_label_file_is_reported() {
    let err = LabelSet::load(Path::new("/nonexistent/labels.txt")).unwrap_err();
    assert!(
        matches!(err, MlError::ModelMissing(_))
            && err.to_string().contains("/nonexistent/labels.txt"),
        "{err}"
    );
}

#[test]
fn the_model_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<ClipModel>();
    shared::<LabelIndex>();
}

/// The int8 copy made in Rust loads in ONNX Runtime, embeds like the float32 model, has its own
/// model id, and is what the server loads when `weights.json` or `[ml] weights` says so.
#[test]
fn the_int8_copy_embeds_like_float32_and_is_loaded_when_chosen() {
    runtime();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("TestCLIP");
    std::fs::create_dir_all(&dir).unwrap();
    copy_dir(&test_model_dir(), &dir);
    let opts = ClipOptions {
        threads: 1,
        batch_size: 4,
        ..ClipOptions::default()
    };
    let f32_model = ClipModel::load(&dir, &opts).unwrap();
    assert_eq!(f32_model.weights().0, Weights::Float32);
    assert!(
        f32_model.weights().1.contains("model int8"),
        "{:?}",
        f32_model.weights()
    );

    // Chosen by hand: made, measured, recorded.
    let files = ModelFiles::in_dir(&dir);
    let p = weights::make_and_choose(&files, &dir, "TestCLIP", &opts, WeightsSetting::Int8, false)
        .unwrap();
    assert_eq!(
        p.written,
        [
            "textual/model.int8.onnx",
            "visual/model.int8.onnx",
            "weights.json"
        ]
    );
    assert!(
        p.reports.iter().all(|r| r.quantized >= 1),
        "{:?}",
        p.reports.len()
    );
    let c = weights::read_choice(&dir).unwrap();
    assert_eq!(c.weights, Weights::Int8);
    assert!(
        c.why.starts_with("chosen by hand; measured: int8 "),
        "{}",
        c.why
    );
    assert!(c.agreement.unwrap() > 0.99, "{c:?}");
    assert!(c.int8_ms_per_picture.unwrap() > 0.0 && c.float32_ms_per_picture.unwrap() > 0.0);

    let int8_model = ClipModel::load(&dir, &opts).unwrap();
    assert_eq!(int8_model.weights().0, Weights::Int8);
    assert_ne!(
        int8_model.id(),
        f32_model.id(),
        "other weights, other embeddings: another id"
    );
    assert!(int8_model.id().starts_with("TestCLIP@"));
    let pics: Vec<RgbImage> = [[220, 30, 30], [30, 200, 40], [40, 60, 220]]
        .iter()
        .map(|&c| picture(c, 300, 200))
        .collect();
    let a = f32_model.embed_images(&pics).unwrap();
    let b = int8_model.embed_images(&pics).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert!(dot(x, y) > 0.99, "cosine {}", dot(x, y));
    }
    let ta = f32_model
        .embed_texts(&["a photo of something red"])
        .unwrap();
    let tb = int8_model
        .embed_texts(&["a photo of something red"])
        .unwrap();
    assert!(dot(&ta[0], &tb[0]) > 0.99);
    // The red picture is still the red one.
    let best = |e: &[Vec<f32>], t: &[f32]| {
        (0..e.len())
            .max_by(|&i, &j| dot(&e[i], t).total_cmp(&dot(&e[j], t)))
            .unwrap()
    };
    assert_eq!(best(&b, &tb[0]), 0);

    // The config overrides the choice, both ways.
    let forced = ClipOptions {
        weights: WeightsSetting::Float32,
        ..opts
    };
    assert_eq!(ClipModel::load(&dir, &forced).unwrap().id(), f32_model.id());
    // Auto measured: a choice either way, with its reason and the numbers.
    let p = weights::make_and_choose(&files, &dir, "TestCLIP", &opts, WeightsSetting::Auto, false)
        .unwrap();
    let c = p.choice.unwrap();
    assert!(
        c.why.starts_with("int8 is ") && c.why.contains("a picture, float32"),
        "{}",
        c.why
    );
    let stored = weights::read_choice(&dir).unwrap();
    assert_eq!((stored.weights, &stored.why), (c.weights, &c.why));
    // The int8 files gone: auto falls back to float32 and says why; int8 by config is an error.
    std::fs::remove_file(dir.join("visual/model.int8.onnx")).unwrap();
    std::fs::write(
        dir.join(weights::CHOICE_FILE),
        serde_json::to_string(&weights::Choice {
            weights: Weights::Int8,
            ..c
        })
        .unwrap(),
    )
    .unwrap();
    let m = ClipModel::load(&dir, &opts).unwrap();
    assert_eq!(
        m.weights(),
        (
            Weights::Float32,
            "weights.json chose int8 but the int8 files are missing"
        )
    );
    let err = ClipModel::load(
        &dir,
        &ClipOptions {
            weights: WeightsSetting::Int8,
            ..opts
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, MlError::ModelMissing(_)) && err.to_string().contains("model int8"),
        "{err}"
    );
}
