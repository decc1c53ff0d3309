"""Text matching: speech windows, comments and screen text scored against a hand-made catalog
with the real MiniLM encoder."""

import os

import numpy as np
import pytest

from ml.text import TextEncoder, TextMatcher, TextMatchOptions, content_tokens, tokenize, transcript_events
from ml.text.matching import edit_similarity
from ml.types import Catalog, Product, TextEvents, Transcript, Word

IMG = os.path.join(os.path.dirname(__file__), "..", "..", "data", "text", "overlay_oatly.png")

# titles and descriptions as in the GroceryStoreDataset (MIT) and Fashion Product Images catalogs
PRODUCTS = [
    ("golden", "Golden Delicious", "Golden Delicious has a white juicy pulp and a greenish yellow shell. "
     "The taste is mellow and sweet, making Golden Delicious suitable for desserts."),
    ("granny", "Granny Smith", "Granny Smith is a green apple with white, firm pulp and a clear acidity in the flavor."),
    ("red", "Red Delicious", "Red Delicious is a dark red apple with relatively soft pulp and sweet taste."),
    ("tropicana", "Tropicana Apple Juice", "Tropicana Apple is a ready to drink juice with pulp pressed on apples. "
     "Not from concentrate."),
    ("arla", "Arla Medium Fat Milk", "Fresh skimmed milk made from Swedish milk. A popular choice for breakfast cereals."),
    ("oatly", "Oatly Oat Milk", "A natural oat drink, enriched with calcium and vitamins."),
    ("morgon", "God Morgon Orange Juice", "God Morgon Orange is pressed by sun-dried, hand-picked oranges."),
    ("jersey", "Nike Mean Team India Cricket Jersey", ""),
    ("backpack", "Puma Deck Navy Blue Backpack", ""),
]


@pytest.fixture(scope="module")
def catalog():
    return Catalog([Product(pid, title, "grocery", (IMG,), desc) for pid, title, desc in PRODUCTS])


@pytest.fixture(scope="module")
def matcher(catalog):
    return TextMatcher(catalog, TextEncoder(), TextMatchOptions(window_s=8.0)).fit()


def _col(catalog, pid):
    return catalog.index_of(pid)


def _words(spec):
    """[(start, "text"), ...] -> Words 0.3 s long."""
    return [Word(s, s + 0.3, txt, 0.9) for s, txt in spec]


def _sentence(t0, text, dt=0.35):
    return [(t0 + i * dt, w) for i, w in enumerate(text.split())]


def test_tokens_are_lowercased_without_punctuation_and_keep_digits():
    assert tokenize("Tropicana Apple-Juice, 1L (Café)") == ["tropicana", "apple", "juice", "1l", "cafe"]
    assert content_tokens("This is the Levi's 501 jeans") == ["levi", "501", "jeans"]


def test_edit_similarity_counts_one_typo_as_one_edit():
    assert edit_similarity("tropicana", "tropicanna") == pytest.approx(0.9)
    assert edit_similarity("milk", "milk") == 1.0
    assert edit_similarity("abcdef", "uvwxyz", max_edits=2) == 0.0


def test_transcript_windows_slide_over_the_words():
    words = _words(_sentence(0.0, "hello everyone welcome") + _sentence(20.0, "this is the oatly oat milk"))
    ev = transcript_events(Transcript(words), window_s=6.0, hop_s=2.0)
    assert ev.source == "speech" and len(ev) >= 2
    assert ev.text[0] == "hello everyone welcome"
    assert any(t == "this is the oatly oat milk" for t in ev.text)
    assert np.all(np.diff(ev.t) >= 0)
    assert ev.score.dtype == np.float32 and np.allclose(ev.score, 0.9)
    assert len(transcript_events(Transcript([]))) == 0


def test_the_named_product_wins_at_the_time_it_is_named(catalog, matcher):
    words = _words(_sentence(2.0, "hello everyone thanks for joining the stream today")
                   + _sentence(30.0, "now the golden delicious a sweet yellow apple")
                   + _sentence(60.0, "and here is the oatly oat milk great in coffee"))
    events = transcript_events(Transcript(words), window_s=6.0, hop_s=2.0)
    times = np.arange(0.0, 80.0, 1.0)
    s = matcher.score(events, times)
    assert set(s) == {"semantic", "lexical"}
    for name in ("semantic", "lexical"):
        assert s[name].shape == (80, len(catalog)) and s[name].dtype == np.float32
        assert s[name].min() >= 0.0 and s[name].max() <= 1.0
        assert s[name][31].argmax() == _col(catalog, "golden")
        assert s[name][62].argmax() == _col(catalog, "oatly")
    lex = s["lexical"]
    assert lex[25:40, _col(catalog, "golden")].max() > 0.95  # all title words said
    # sharing the word "delicious" gives Red Delicious a partial score, below the named one
    assert 0.0 < lex[31, _col(catalog, "red")] < lex[31, _col(catalog, "golden")]
    # far from any mention (and during the greeting) nothing is named
    assert lex[45].max() == 0.0 and lex[2].max() == 0.0
    # the score fades towards the window edge: events count less away from the step
    g = _col(catalog, "golden")
    assert s["semantic"][31, g] > s["semantic"][35, g] > 0.0


@pytest.mark.parametrize("said, expected", [
    ("the greenish yellow one is mellow and sweet", "golden"),
    ("a drink made from oats", "oatly"),
    ("fresh skimmed milk from sweden for your cereals", "arla"),
    ("a jersey for cricket fans", "jersey"),
])
def test_a_description_without_the_name_ranks_the_right_product_first_semantically(catalog, matcher, said, expected):
    sem = matcher.semantic_scores([said])[0]
    assert sem.argmax() == _col(catalog, expected)


@pytest.mark.parametrize("heard", [
    "this is the tropicanna apple juice",  # one letter inserted
    "this is the tropicano apple juice",  # one letter substituted
    "this is the tropic anna apple juice",  # split into two words
])
def test_lexical_match_survives_asr_misspelling_of_the_brand(catalog, matcher, heard):
    lex = matcher.lexical_scores([heard, "this is the apple juice"])
    t = _col(catalog, "tropicana")
    assert lex[0].argmax() == t
    assert lex[0, t] > lex[1, t] + 0.3  # the brand, misspelt, still counts for most of the title


def test_two_title_words_run_together_by_asr_still_match(catalog, matcher):
    lex = matcher.lexical_scores(["here we have the Arlamidium fat milk"])[0]  # heard from espeak-ng
    arla, oatly = _col(catalog, "arla"), _col(catalog, "oatly")
    assert lex.argmax() == arla and lex[arla] > 0.85
    assert lex[oatly] < 0.3  # shares only "milk"


def test_short_common_words_do_not_match_fuzzily(catalog, matcher):
    # "mild" is one letter from "milk", but 4-letter tokens must match exactly
    assert matcher.lexical_scores(["a mild taste"])[0].max() == 0.0


def test_ocr_fragments_of_a_package_are_glued_back_into_the_brand(catalog, matcher):
    lex = matcher.lexical_scores(["GOD MOR GON orange 100% Squecnd foult"])[0]  # RapidOCR on a real carton
    # "god" + "morgon" (glued) + "orange": all of the title but "juice"
    assert lex.argmax() == _col(catalog, "morgon") and lex.max() > 0.7


def test_a_viewer_question_about_a_colour_points_at_the_product_of_that_colour(catalog, matcher):
    events = TextEvents(np.array([10.0]), ["how much is the blue one?"], np.ones(1), "comments")
    s = matcher.score(events, np.array([10.0]))
    assert s["lexical"][0].argmax() == _col(catalog, "backpack")
    assert s["semantic"][0].argmax() == _col(catalog, "backpack")


def test_empty_events_give_zeros_of_the_right_shape(catalog, matcher):
    s = matcher.score(TextEvents.empty("speech"), np.arange(0.0, 50.0, 0.5))
    for name in ("semantic", "lexical"):
        assert s[name].shape == (100, len(catalog)) and not s[name].any()
    assert matcher.score(TextEvents.empty(), np.zeros(0))["lexical"].shape == (0, len(catalog))


def test_events_outside_every_window_leave_zeros(catalog, matcher):
    events = TextEvents(np.array([500.0]), ["oatly oat milk"], np.ones(1), "screen_text")
    s = matcher.score(events, np.arange(0.0, 100.0, 1.0), window_s=4.0)
    assert not s["lexical"].any() and not s["semantic"].any()


def test_without_an_encoder_only_lexical_scores_are_computed(catalog):
    m = TextMatcher(catalog, None).fit()
    events = TextEvents(np.array([3.0]), ["Oatly Oat Milk 1 L"], np.ones(1), "screen_text")
    s = m.score(events, np.arange(0.0, 6.0, 1.0))
    assert not s["semantic"].any()
    assert s["lexical"][3].argmax() == _col(catalog, "oatly")


def test_score_before_fit_is_an_error(catalog):
    with pytest.raises(RuntimeError, match="fit"):
        TextMatcher(catalog, None).score(TextEvents.empty(), np.zeros(3))


def test_many_events_and_steps_give_the_same_scores_as_one_at_a_time(catalog, matcher):
    rng = np.random.default_rng(0)
    texts = ["oatly oat milk", "golden delicious", "hello chat", "tropicana apple juice", "blue backpack"]
    t = np.sort(rng.uniform(0, 3600, 400))
    events = TextEvents(t, [texts[i % 5] for i in range(400)], np.ones(400), "comments")
    times = np.arange(0.0, 3600.0, 0.5)  # T = 7200
    s = matcher.score(events, times)
    assert s["lexical"].shape == (7200, len(catalog))
    k = 1234
    near = np.abs(t - times[k]) <= 4.0
    expected = np.zeros(len(catalog))
    for e in np.flatnonzero(near):
        w = 1.0 - 0.5 * abs(t[e] - times[k]) / 4.0
        expected = np.maximum(expected, w * matcher.lexical_scores([events.text[e]])[0])
    np.testing.assert_allclose(s["lexical"][k], expected, atol=1e-5)
