"""The custom intent classifier (nlu/components/) on its own, inside Rasa's own environment:
train, persist, load and classify through Rasa's model storage; an untrained model sends every
message to the fallback; a model file carrying any type the classifier does not store itself
(a foreign class, or even another scipy type) is refused."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from bot.runtime import rasa_env
from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import skops.io as sio
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from nlu.components.linear_intent_classifier import LinearIntentClassifier as C

    storage = LocalModelStorage(Path(sys.argv[1]))
    context = ExecutionContext(GraphSchema({}), "test")
    config = {**C.get_default_config(), "ranking_length": 3}
    examples = {
        "amount": ["how much money", "combien d'argent", "how much do i get", "cmb en $"],
        "children": ["my kids", "mes enfants", "can my children come", "mon bebe aussi"],
        "greet": ["hello", "bonjour", "hi there", "salut"],
        "thanks": ["thank you", "merci", "thx a lot", "merci bcp"],
    }
    data = TrainingData(
        [Message(data={"text": t, "intent": i}) for i, ts in examples.items() for t in ts]
    )
    C.create(config, storage, Resource("trained"), context).train(data)
    loaded = C.load(config, storage, Resource("trained"), context)
    out = {}
    for text in ("How much MONEY will I get?", "mes enfants peuvent venir", "bonjour!"):
        [m] = loaded.process([Message(data={"text": text})])
        out[text] = {"intent": m.get("intent"), "ranking": m.get("intent_ranking")}

    # Nothing to learn: nothing persisted, and every message goes to the fallback.
    C.create(config, storage, Resource("empty"), context).train(TrainingData([]))
    empty = C.load(config, storage, Resource("empty"), context)
    [m] = empty.process([Message(data={"text": "hello"})])
    out["untrained"] = m.get("intent")

    # A model file with a type from outside scikit-learn, numpy and scipy is not loaded.
    class Payload:
        pass
    with storage.write_to(Resource("tampered")) as directory:
        sio.dump((Payload(), 1), directory / "linear_intent_classifier.skops")
    try:
        C.load(config, storage, Resource("tampered"), context)
        out["tampered"] = "loaded"
    except TypeError as exc:
        out["tampered"] = str(exc)

    # Nor one with a scipy type the classifier never stores (a prefix is not enough).
    import scipy.sparse
    with storage.write_to(Resource("other_scipy")) as directory:
        sio.dump((scipy.sparse.csc_matrix((2, 2)), 1), directory / "linear_intent_classifier.skops")
    try:
        C.load(config, storage, Resource("other_scipy"), context)
        out["other_scipy"] = "loaded"
    except TypeError as exc:
        out["other_scipy"] = str(exc)
    print("RESULT " + json.dumps(out))
    """
)


def test_classifier_trains_persists_loads_and_refuses_foreign_types(tmp_path: Path) -> None:
    rasa_env.ensure(lambda _m: None)
    python = rasa_env.venv_dir() / "bin" / "python"
    storage = tmp_path / "storage"
    storage.mkdir()
    result = subprocess.run(
        [str(python), "-c", SCRIPT, str(storage)],
        cwd=PROJECT_ROOT,
        env=rasa_env.rasa_environ(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = [ln for ln in result.stdout.splitlines() if ln.startswith("RESULT ")]
    out = json.loads(line.removeprefix("RESULT "))

    expected = {
        "How much MONEY will I get?": "amount",
        "mes enfants peuvent venir": "children",
        "bonjour!": "greet",
    }
    for text, intent in expected.items():
        got = out[text]
        assert got["intent"]["name"] == intent, got
        ranking = got["ranking"]
        assert len(ranking) == 3  # ranking_length
        confidences = [r["confidence"] for r in ranking]
        assert confidences == sorted(confidences, reverse=True)
        assert got["intent"] == ranking[0]
        assert 0 < sum(confidences) <= 1.0 + 1e-9
    assert out["untrained"] == {"name": None, "confidence": 0.0}
    assert out["tampered"].startswith("unexpected types in linear_intent_classifier.skops")
    assert "Payload" in out["tampered"]
    assert "csc_matrix" in out["other_scipy"], out["other_scipy"]
