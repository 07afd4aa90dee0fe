import pytest
from lumiere.errors import InvalidRequestError
from lumiere.pipeline.search_text import fold, matches, query_terms, searchable


def test_folding_ignores_case_accents_and_width() -> None:
    assert fold("Café CRÈME") == fold("cafe creme") == "cafe creme"
    assert fold("Straße") == "strasse"  # casefold, not lower
    assert fold("\uff2c\uff21\uff35\uff2e\uff23\uff28") == "launch"  # full-width LAUNCH
    assert fold("Ørsted") == "ørsted"  # a letter of its own, not an accented o


def test_the_searchable_text_is_the_title_then_the_file_name() -> None:
    assert searchable("Launch Day", "IMG_0042.MOV") == "launch day img_0042.mov"
    assert searchable(None, "clip.mp4") == "clip.mp4"


def test_query_terms_are_folded_distinct_words() -> None:
    assert query_terms("  Launch  DAY launch ") == ["launch", "day"]
    assert query_terms("Café") == ["cafe"]
    assert query_terms("") == []
    assert query_terms(None) == []
    assert query_terms("   ") == []


@pytest.mark.parametrize(
    ("q", "message"),
    [("x" * 101, "101 characters; the limit is 100"), ("a b c d e f g h i", "9 words")],
)
def test_overlong_queries_are_refused(q: str, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        query_terms(q)


def test_matches_is_what_the_filter_decides() -> None:
    text = searchable("Café Interior", "IMG_1.jpg")
    assert matches(text, ["cafe", "img"])
    assert matches(text, [])
    assert not matches(text, ["cafe", "terrace"])
