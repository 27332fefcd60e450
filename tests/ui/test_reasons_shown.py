"""The flow's record sentences read back in each language (console/domain/reasons.py)."""

from __future__ import annotations

import re

import pytest

from console.domain import reasons
from console.domain.labels import Language
from console.domain.reasons import REASONS, Reason, action_text, reason_text

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?:[ ,:]+[A-Za-z]{2,}){2,}")
VALUES = {"caller": "13900001111", "agent": "1024", "holder": "2001 @ seat-1", "key": "3",
          "result": "timeout"}


@pytest.mark.parametrize("reason", REASONS, ids=[r.stored for r in REASONS])
def test_each_stored_sentence_reads_back_in_both_languages(reason: Reason) -> None:
    names = re.findall(r"\{(\w+)\}", reason.stored)
    stored = reason(**{n: VALUES[n] for n in names})
    zh, en = reason_text(stored, Language.ZH), reason_text(stored, Language.EN)
    assert not ENGLISH_SENTENCE.search(zh) and "None" not in zh, zh
    assert not CJK.search(en), en
    for name in names:
        shown = VALUES[name] if name != "result" else "门岗未应答"
        assert shown in zh, (name, zh)


def test_action_lines_put_the_time_first_in_chinese_and_keep_the_agents_words() -> None:
    lines = "\n".join([
        reasons.PUT_ON_HOLD(agent="1024") + " at 10:07:33",
        "sent the fitter",
        reasons.TRANSFERRED(agent="1024", result="error: 503 Service Unavailable")
        + " at 10:09:00",
    ])
    assert action_text(lines, Language.ZH).split("\n") == [
        "10:07:33 1024 将来电保持", "sent the fitter", "10:09:00 1024 转门岗:出错",
    ]
    assert action_text(lines, Language.EN).split("\n")[0] == "Put on hold by 1024 at 10:07:33"


def test_an_agents_own_words_are_shown_as_written() -> None:
    for words in ("call back tomorrow", "put on hold", "回电 王先生", ""):
        assert reason_text(words, Language.ZH) == words
        assert reason_text(words, Language.EN) == words


def test_the_flow_writes_its_sentences_through_the_table() -> None:
    """No sentence of the table is typed out again in the flow (it would drift)."""
    from pathlib import Path

    import console.callflow.flow as flow

    source = Path(flow.__file__).read_text(encoding="utf-8")
    for reason in REASONS:
        head = reason.stored.split("{")[0].strip()
        if len(head) > 8:
            assert f'"{head}' not in source and f'f"{head}' not in source, head
