"""Choose the classifier-only crisis bar on the DEV sets (never a blind one).

For every message of ``nlu/eval/safety_dev/`` (crisis and hard ordinary messages) and of the
NLU dev set (``nlu/eval/dev_*.yml``, ordinary intents only), this prints whether the reviewed
patterns take it (``bot/safety.py``) and the trained model's ``urgent_help`` confidence when
``urgent_help`` is its top intent. Then, for candidate bars, the crisis messages only the
classifier catches that would fall under the bar (they would get the gentle check instead of
the full guidance) against the ordinary messages that would still get the full guidance.

    .venv/bin/python -m scripts.safety_bar [--model models/<name>.tar.gz] [--list]

Reads nlu/eval/safety_dev/ and nlu/eval/dev_*.yml only: never nlu/eval/safety*/ blind sets.
The model is loaded in Rasa's own environment (.venv-rasa), in one subprocess.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import yaml

from bot import safety
from bot.runtime.evaluation import EVAL_DIR, load_set
from bot.settings import PROJECT_ROOT

DEV = EVAL_DIR / "safety_dev"
BARS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

_PARSE = r"""
import asyncio, json, sys
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
texts = json.load(sys.stdin)
async def main():
    out = []
    for t in texts:
        r = await agent.parse_message(t)
        out.append([r["intent"]["name"], float(r["intent"]["confidence"])])
    return out
print(json.dumps(asyncio.run(main())))
"""


def _dev(kind: str) -> list[tuple[str, str]]:
    out = []
    for lang in ("en", "fr"):
        data = yaml.safe_load((DEV / f"{kind}_{lang}.yml").read_text(encoding="utf-8"))
        out += [(lang, str(m["text"])) for m in data["messages"]]
    return out


def _parse(model: Path, texts: list[str]) -> list[tuple[str, float]]:
    done = subprocess.run(
        [str(PROJECT_ROOT / ".venv-rasa" / "bin" / "python"), "-c", _PARSE, str(model)],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
        env={"PYTHONPATH": str(PROJECT_ROOT), "PATH": "/usr/bin:/bin"},
    )
    return [(name, conf) for name, conf in json.loads(done.stdout.strip().splitlines()[-1])]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path)
    ap.add_argument("--list", action="store_true", help="print every classifier-only hit")
    args = ap.parse_args()
    model = args.model or max(
        (PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime
    )
    groups = {
        "crisis (dev)": _dev("crisis"),
        "hard ordinary (dev)": _dev("ordinary_hard"),
        "NLU dev, ordinary": [
            (e.language, e.text) for e in load_set("dev") if e.intent != "urgent_help"
        ],
    }
    texts = [t for g in groups.values() for _, t in g]
    parsed = iter(_parse(model, texts))
    print(f"model: {model.name}")
    for name, items in groups.items():
        pattern = 0
        scores: list[float] = []  # urgent_help confidences of the classifier-only hits
        alone: list[float] = []  # the classifier's urgent_help, patterns ignored
        for lang, text in items:
            intent, conf = next(parsed)
            if intent == "urgent_help":
                alone.append(conf)
            if safety.crisis_match(text) is not None:
                pattern += 1
            elif intent == "urgent_help":
                scores.append(conf)
                if args.list:
                    print(f"  {name} [{lang}] {conf:.2f} {text}")
        print(f"{name}: {len(items)} messages, patterns {pattern}, classifier only {len(scores)}")
        for bar in BARS:
            over = sum(s >= bar for s in scores)
            print(
                f"  bar {bar:.1f}: full guidance {over}, gentle check {len(scores) - over}"
                f" | classifier alone, patterns ignored: {sum(s >= bar for s in alone)}"
                f" of {len(items)} at or over the bar"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
