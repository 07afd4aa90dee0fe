"""Pure parts of the analysis step: models, cue layout, WebVTT, WER, Transcribe JSON,
ebur128/silencedetect parsing, the speech heuristic and the ffmpeg argument lists."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from lumiere.analysis.audio_facts import (
    parse_ebur128_summary,
    parse_progress_duration,
    parse_silences,
    speech_evidence,
    speech_windows,
)
from lumiere.analysis.captions import (
    MAX_CUE_SECONDS,
    MAX_LINE_CHARS,
    clean_word,
    cues_to_webvtt,
    layout_lines,
    normalise_words,
    parse_transcribe_json,
    vtt_timestamp,
    word_error_rate,
    words_to_cues,
)
from lumiere.analysis.commands import (
    build_audio_facts_args,
    build_frames_args,
    build_speech_pcm_args,
    frame_select_expr,
    frame_size,
    parse_showinfo_time,
)
from lumiere.analysis.models import AnalysisResult, AudioFacts, Cue, FaceBox, Word

URL = "https://bucket.s3.amazonaws.com/upload?sig=1"

# --- models ---


def test_facebox_iou() -> None:
    a = FaceBox(0.1, 0.1, 0.2, 0.2)
    assert a.iou(a) == pytest.approx(1.0)
    assert a.iou(FaceBox(0.5, 0.5, 0.1, 0.1)) == 0.0
    assert a.iou(FaceBox(0.2, 0.1, 0.2, 0.2)) == pytest.approx(0.02 / 0.06)


def test_analysis_result_round_trips_through_json() -> None:
    result = AnalysisResult(
        faces=(FaceBox(0.1, 0.2, 0.3, 0.4, confidence=0.9, time=12.5), FaceBox(0, 0, 1, 1)),
        audio=AudioFacts(-23.0, 5.5, -1.0, ((0.0, 1.5), (10.0, 12.0)), True, 60.0),
        captions=(Cue(1.5, 3.0, ("hello there", "general kenobi")),),
        caption_backend="pocketsphinx",
        extra={"frames": 12},
    )
    again = AnalysisResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result


def test_analysis_result_distinguishes_no_captions_from_none_heard() -> None:
    assert AnalysisResult.from_dict(AnalysisResult().to_dict()).captions is None
    assert AnalysisResult.from_dict(AnalysisResult(captions=()).to_dict()).captions == ()


def test_word_round_trip() -> None:
    word = Word("hi", 1.0, 1.25, None)
    assert Word.from_dict(word.to_dict()) == word


# --- cue layout ---


def _words(text: str, start: float = 0.0, step: float = 0.3, gap: float = 0.0) -> list[Word]:
    out = []
    t = start
    for token in text.split():
        out.append(Word(token, round(t, 3), round(t + step - 0.02, 3)))
        t += step + gap
    return out


def test_layout_one_line_when_it_fits() -> None:
    assert layout_lines(["a", "short", "line"]) == ("a short line",)


def test_layout_balances_two_lines() -> None:
    text = "the quick brown fox jumps over the lazy dog and runs far away"
    lines = layout_lines(text.split())
    assert lines is not None
    assert len(lines) == 2
    assert all(len(line) <= MAX_LINE_CHARS for line in lines)
    assert abs(len(lines[0]) - len(lines[1])) < 10


def test_layout_refuses_what_does_not_fit_in_two_lines() -> None:
    assert layout_lines(["word"] * 30) is None


def test_layout_keeps_an_overlong_single_word() -> None:
    assert layout_lines(["x" * 60]) == ("x" * 60,)


def test_cues_respect_line_and_duration_limits() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    cues = words_to_cues(_words(text, step=0.25))
    assert len(cues) > 10
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2
        assert all(len(line) <= MAX_LINE_CHARS for line in cue.lines)
        assert cue.duration <= MAX_CUE_SECONDS + 1e-9
        assert cue.end > cue.start
    # In order, no overlaps, and every word appears exactly once.
    assert all(a.end <= b.start for a, b in itertools.pairwise(cues))
    assert " ".join(c.text for c in cues).split() == text.split()


def test_slow_speech_is_cut_at_seven_seconds() -> None:
    cues = words_to_cues(_words("a b c d e f g h i j", step=1.0))
    assert [len(c.text.split()) for c in cues] == [7, 3]


def test_cues_split_on_pauses() -> None:
    words = _words("hello there", start=0.0) + _words("after a pause", start=3.0)
    cues = words_to_cues(words)
    assert [c.text for c in cues] == ["hello there", "after a pause"]


def test_cues_split_after_a_sentence() -> None:
    words = _words("This is the end of a sentence. And here is the next one")
    assert [c.text for c in words_to_cues(words)] == [
        "This is the end of a sentence.",
        "And here is the next one",
    ]


def test_short_cue_held_for_a_second_but_not_into_the_next() -> None:
    words = [Word("hi", 1.0, 1.2), Word("there", 1.4, 1.6)]
    (only,) = words_to_cues(words, pause=0.5)
    assert (only.start, only.end) == (1.0, 2.0)
    lone = words_to_cues([Word("hi", 1.0, 1.2), Word("you", 1.9, 2.1)], pause=0.5)
    assert [(c.start, c.end) for c in lone] == [(1.0, 1.9), (1.9, 2.9)]


def test_no_words_no_cues() -> None:
    assert words_to_cues([]) == []
    assert cues_to_webvtt([]) == "WEBVTT\n"


# --- WebVTT ---


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "00:00:00.000"),
        (1.5, "00:00:01.500"),
        (3, "00:00:03.000"),
        (61.0004, "00:01:01.000"),
        (3600 * 2 + 59.9996, "02:01:00.000"),
        (-1, "00:00:00.000"),
    ],
)
def test_vtt_timestamp(seconds: float, text: str) -> None:
    assert vtt_timestamp(seconds) == text


def test_webvtt_document() -> None:
    cues = [Cue(1.5, 3.0, ("Hello world",)), Cue(3.0, 5.25, ("a <b> & c", "second line"))]
    assert cues_to_webvtt(cues) == (
        "WEBVTT\n"
        "\n"
        "1\n"
        "00:00:01.500 --> 00:00:03.000\n"
        "Hello world\n"
        "\n"
        "2\n"
        "00:00:03.000 --> 00:00:05.250\n"
        "a &lt;b&gt; &amp; c\n"
        "second line\n"
    )


# --- WER ---


def test_wer_identical_after_normalising() -> None:
    assert word_error_rate("Hello, World!", "hello world") == 0.0


def test_wer_counts_substitutions_deletions_insertions() -> None:
    assert word_error_rate("go forward ten meters", "go forward ten years") == 0.25
    assert word_error_rate("go forward ten meters", "go forward") == 0.5
    assert word_error_rate("go forward", "go go forward now") == 1.0
    assert word_error_rate("a b c", "") == 1.0


def test_wer_empty_reference() -> None:
    assert word_error_rate("", "") == 0.0
    assert word_error_rate("", "noise") == 1.0


def test_normalise_keeps_inner_apostrophes() -> None:
    assert normalise_words("Don't STOP -- 'quoted' words.") == ["don't", "stop", "quoted", "words"]


def test_pocketsphinx_tokens_cleaned() -> None:
    assert clean_word("<s>") is None
    assert clean_word("<sil>") is None
    assert clean_word("[NOISE]") is None
    assert clean_word("read(2)") == "read"
    assert clean_word("forward") == "forward"


# --- Amazon Transcribe ---

TRANSCRIBE_JSON = {
    "jobName": "asset-123",
    "accountId": "123456789012",
    "status": "COMPLETED",
    "results": {
        "transcripts": [{"transcript": "Hello there. How are you?"}],
        "items": [
            {
                "start_time": "0.04",
                "end_time": "0.51",
                "alternatives": [{"confidence": "0.998", "content": "Hello"}],
                "type": "pronunciation",
            },
            {
                "start_time": "0.51",
                "end_time": "0.9",
                "alternatives": [{"confidence": "0.97", "content": "there"}],
                "type": "pronunciation",
            },
            {"alternatives": [{"confidence": "0.0", "content": "."}], "type": "punctuation"},
            {
                "start_time": "2.0",
                "end_time": "2.2",
                "alternatives": [{"confidence": "1.0", "content": "How"}],
                "type": "pronunciation",
            },
            {
                "start_time": "2.2",
                "end_time": "2.35",
                "alternatives": [{"confidence": "0.99", "content": "are"}],
                "type": "pronunciation",
            },
            {
                "start_time": "2.35",
                "end_time": "2.6",
                "alternatives": [{"confidence": "0.95", "content": "you"}],
                "type": "pronunciation",
            },
            {"alternatives": [{"confidence": "0.0", "content": "?"}], "type": "punctuation"},
        ],
    },
}


def test_transcribe_json_parsed_into_words() -> None:
    words = parse_transcribe_json(json.dumps(TRANSCRIBE_JSON))
    assert words == [
        Word("Hello", 0.04, 0.51, 0.998),
        Word("there.", 0.51, 0.9, 0.97),
        Word("How", 2.0, 2.2, 1.0),
        Word("are", 2.2, 2.35, 0.99),
        Word("you?", 2.35, 2.6, 0.95),
    ]
    assert parse_transcribe_json(TRANSCRIBE_JSON) == words


def test_transcribe_json_to_webvtt() -> None:
    vtt = cues_to_webvtt(words_to_cues(parse_transcribe_json(TRANSCRIBE_JSON)))
    assert vtt == (
        "WEBVTT\n\n1\n00:00:00.040 --> 00:00:01.040\nHello there.\n\n"
        "2\n00:00:02.000 --> 00:00:03.000\nHow are you?\n"
    )


def test_same_words_same_webvtt_whichever_backend() -> None:
    sphinx = [Word("hello", 0.04, 0.51, 0.5), Word("there", 0.51, 0.9, 0.4)]
    transcribe = parse_transcribe_json(
        {
            "results": {
                "items": [
                    {
                        "start_time": "0.04",
                        "end_time": "0.51",
                        "alternatives": [{"content": "hello"}],
                        "type": "pronunciation",
                    },
                    {
                        "start_time": "0.51",
                        "end_time": "0.9",
                        "alternatives": [{"content": "there"}],
                        "type": "pronunciation",
                    },
                ]
            }
        }
    )
    assert cues_to_webvtt(words_to_cues(sphinx)) == cues_to_webvtt(words_to_cues(transcribe))


def test_transcribe_json_without_items() -> None:
    assert parse_transcribe_json({"results": {"transcripts": [], "items": []}}) == []
    assert parse_transcribe_json("{}") == []


# --- ebur128 / silencedetect ---

EBUR128_STDERR = """\
Input #0, wav, from 'speech.wav':
[Parsed_ebur128_0 @ 0x1edfb640] Summary:

  Integrated loudness:
    I:         -70.0 LUFS
    Threshold:   0.0 LUFS

  True peak:
    Peak:       -inf dBFS
[silencedetect @ 0x1f606f40] silence_start: 0
[silencedetect @ 0x1f606f40] silence_end: 1.25 | silence_duration: 1.25
[silencedetect @ 0x1f606f40] silence_start: 7.5
[silencedetect @ 0x1f606f40] silence_end: 9.0 | silence_duration: 1.5
[silencedetect @ 0x1f606f40] silence_start: 12.02
size=N/A time=00:00:04.30 bitrate=N/A speed=71.5x
[Parsed_ebur128_0 @ 0x1ee00400] Summary:

  Integrated loudness:
    I:         -20.1 LUFS
    Threshold: -30.2 LUFS

  Loudness range:
    LRA:         1.0 LU
    Threshold: -40.2 LUFS
    LRA low:   -20.9 LUFS
    LRA high:  -19.9 LUFS

  True peak:
    Peak:       -1.8 dBFS
"""


def test_ebur128_last_summary_wins() -> None:
    summary = parse_ebur128_summary(EBUR128_STDERR)
    assert (summary.integrated_lufs, summary.lra, summary.true_peak_dbtp) == (-20.1, 1.0, -1.8)


def test_ebur128_silence_has_no_loudness() -> None:
    silent = EBUR128_STDERR.split("size=")[0]
    summary = parse_ebur128_summary(silent)
    assert (summary.integrated_lufs, summary.lra, summary.true_peak_dbtp) == (None, None, None)


def test_ebur128_missing_summary() -> None:
    assert parse_ebur128_summary("nothing here").integrated_lufs is None


def test_silences_parsed_and_open_one_closed_at_the_end() -> None:
    assert parse_silences(EBUR128_STDERR, duration=13.0) == [
        (0.0, 1.25),
        (7.5, 9.0),
        (12.02, 13.0),
    ]
    assert parse_silences(EBUR128_STDERR) == [(0.0, 1.25), (7.5, 9.0)]


def test_progress_duration_takes_the_last_value() -> None:
    stdout = "out_time_us=-5\nprogress=continue\nout_time_us=4300000\nprogress=end\n"
    assert parse_progress_duration(stdout) == 4.3
    assert parse_progress_duration("") is None


# --- speech heuristic ---

RATE = 16000


def _seconds(n: float) -> np.ndarray:
    return np.arange(int(RATE * n)) / RATE


def test_tone_is_not_speech() -> None:
    tone = 0.5 * np.sin(2 * np.pi * 440 * _seconds(5))
    assert not speech_evidence(tone).speech_likely


def test_silence_and_noise_are_not_speech() -> None:
    assert not speech_evidence(np.zeros(RATE * 5, np.int16)).speech_likely
    noise = np.random.default_rng(1).normal(0, 0.1, RATE * 5)
    assert not speech_evidence(noise).speech_likely


def test_regular_tremolo_is_not_speech() -> None:
    t = _seconds(5)
    tremolo = 0.5 * np.sin(2 * np.pi * 440 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 5 * t))
    evidence = speech_evidence(tremolo)
    assert evidence.syllabic_ratio > 0.5  # it is modulated at syllable rate ...
    assert not evidence.speech_likely  # ... but far too regularly


def test_syllable_like_bursts_are_speech() -> None:
    # Bursts of a buzzy "vowel" at an irregular 3-6 per second with pauses between.
    rng = np.random.default_rng(7)
    out = np.zeros(RATE * 6)
    t = 0.1
    while t < 5.7:
        length = rng.uniform(0.08, 0.2)
        n = np.arange(int(length * RATE)) / RATE
        vowel = np.sign(np.sin(2 * np.pi * rng.uniform(110, 220) * n)) * np.hanning(len(n))
        start = int(t * RATE)
        out[start : start + len(n)] = 0.3 * vowel
        t += length + rng.uniform(0.05, 0.2)
    assert speech_evidence(out).speech_likely


def test_under_a_second_says_nothing() -> None:
    assert not speech_evidence(np.ones(RATE // 2)).speech_likely


def test_speech_windows() -> None:
    assert speech_windows(None) == [(0.0, 60.0)]
    assert speech_windows(30.0) == [(0.0, None)]
    assert speech_windows(1000.0) == [(140.0, 20.0), (490.0, 20.0), (840.0, 20.0)]
    assert speech_windows(61.0)[-1] == (41.0, 20.0)


# --- ffmpeg argument lists ---


@pytest.mark.parametrize(
    ("source", "size"),
    [((1920, 1080), (640, 360)), ((320, 180), (320, 180)), ((1080, 1920), (640, 1138))],
)
def test_frame_size(source: tuple[int, int], size: tuple[int, int]) -> None:
    assert frame_size(*source) == size


def test_frame_size_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="bad frame size"):
        frame_size(0, 100)


def _filter(argv: list[str]) -> str:
    return argv[argv.index("-filter_complex") + 1]


def _guarded(argv: list[str]) -> None:
    assert argv[argv.index("-protocol_whitelist") + 1] == "http,https,tcp,tls"
    assert "-format_whitelist" in argv
    assert "-codec_whitelist" in argv
    assert argv[argv.index("-i") + 1] == URL


def test_frames_args() -> None:
    argv = build_frames_args("ffmpeg", URL, (640, 360), every_seconds=10)
    _guarded(argv)
    graph = _filter(argv)
    assert graph.startswith("[0:v:0]select=isnan(prev_selected_t)+gte(t-prev_selected_t\\,10)")
    assert "gt(scene\\,0.4)" in graph
    assert "scale=640:360" in graph
    assert graph.endswith("showinfo[s3]")
    tail = argv[argv.index("-map") :]
    for pair in (["-f", "rawvideo"], ["-pix_fmt", "rgb24"], ["-fps_mode", "passthrough"]):
        assert any(tail[i : i + 2] == pair for i in range(len(tail)))
    assert argv[-1] == "pipe:1"


def test_frame_select_expr() -> None:
    assert frame_select_expr(5, 0.3) == (
        "isnan(prev_selected_t)+gte(t-prev_selected_t,5)+gt(scene,0.3)*gte(t-prev_selected_t,0.5)"
    )


def test_showinfo_time() -> None:
    line = (
        "[Parsed_showinfo_3 @ 0x5581] n:   2 pts: 153600 pts_time:10.0    duration:   512 "
        "duration_time:0.04 fmt:rgb24"
    )
    assert parse_showinfo_time(line) == 10.0
    assert parse_showinfo_time("[silencedetect @ 0x1] silence_start: 0") is None


def test_speech_pcm_args() -> None:
    argv = build_speech_pcm_args("ffmpeg", URL, start=30, seconds=20)
    _guarded(argv)
    assert argv[argv.index("-ss") + 1] == "30.000"
    assert argv[argv.index("-t") + 1] == "20.000"
    assert argv[argv.index("-ss") : argv.index("-i")] == ["-ss", "30.000", "-t", "20.000"]
    out = argv[argv.index("-map") :]
    assert out == [
        "-map",
        "0:a:0",
        "-f",
        "s16le",
        "-ac",
        "1",
        "-acodec",
        "pcm_s16le",
        "-ar",
        "16000",
        "pipe:1",
    ]


def test_audio_facts_args() -> None:
    argv = build_audio_facts_args("ffmpeg", URL)
    _guarded(argv)
    assert _filter(argv) == (
        "[0:a:0]ebur128=framelog=verbose:peak=true[s0];[s0]silencedetect=d=0.5:noise=-50dB[s1]"
    )
    assert argv[argv.index("-loglevel") + 1] == "info"  # the summary is logged at info
    assert argv[argv.index("-progress") + 1] == "pipe:1"
    assert argv[-3:] == ["-f", "null", "-"]
