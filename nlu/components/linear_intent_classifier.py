"""Intent classifier for Rasa: TF-IDF word and character n-grams, then a linear SVM.

Runs inside Rasa's own environment (Python 3.10, see bot/runtime/rasa_env.py), which puts the
project root on PYTHONPATH so ``config.yml`` can name this class.

Why not DIET or Rasa's LogisticRegressionClassifier: on this data (about 45 short, messy messages
per intent and language, English and French in one model) the linear SVM on sublinear TF-IDF
features was the most accurate on the dev set, and trains in seconds instead of minutes on
2 cores (numbers in docs/nlu-evaluation.md, tuning log). Character n-grams within words make it
robust to typos, SMS spellings and missing accents; accents are stripped before counting.

The SVM has no probabilities: the confidence is the softmax of its margins times
``confidence_scale``. The scale and the FallbackClassifier's thresholds were chosen together on
the dev set (share of messages sent to the clarification against accuracy).
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

logger = logging.getLogger(__name__)

_NOT_WORD = re.compile(r"[^\w\s']+")
_WORD = r"(?u)\b\w+\b"  # unlike scikit-learn's default, keeps one-letter SMS words: "u", "g"
_MODEL_FILE = "linear_intent_classifier.skops"
# The one type the classifier stores that skops does not trust on its own (scikit-learn's
# estimators, numpy arrays and Python builtins it does): the TF-IDF idf matrix. Anything else in
# the file, even another scipy or numpy type, is refused: a model file must not carry code.
_STORED_TYPES = frozenset({"scipy.sparse._csr.csr_matrix"})


def normalise(text: str) -> str:
    """Punctuation is noise here ("french?" is "french"); case and accents go in the vectorizer."""
    return _NOT_WORD.sub(" ", text)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class LinearIntentClassifier(GraphComponent, IntentClassifier):
    """TF-IDF n-grams and a linear SVM; writes ``intent`` and ``intent_ranking`` like Rasa's own."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "word_ngrams": [1, 1],
            "char_ngrams": [2, 5],
            "C": 1.0,
            "confidence_scale": 5.0,
            "ranking_length": 10,
        }

    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """Retrain when this file changes, not only when the config or the data do."""
        return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: tuple[FeatureUnion, LinearSVC] | None = None,
    ) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> LinearIntentClassifier:
        return cls(config, model_storage, resource)

    def _features(self) -> FeatureUnion:
        common = {"strip_accents": "unicode", "lowercase": True, "sublinear_tf": True}
        return FeatureUnion(
            [
                (
                    "words",
                    TfidfVectorizer(
                        ngram_range=tuple(self._config["word_ngrams"]),
                        token_pattern=_WORD,
                        **common,
                    ),
                ),
                (
                    "chars",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=tuple(self._config["char_ngrams"]), **common
                    ),
                ),
            ]
        )

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if len({e.get(INTENT) for e in examples}) < 2:
            logger.debug("Fewer than two intents with examples: the classifier is not trained.")
            return self._resource
        features = self._features()
        x = features.fit_transform([normalise(e.get(TEXT)) for e in examples])
        svm = LinearSVC(C=self._config["C"], class_weight="balanced", random_state=42)
        svm.fit(x, [e.get(INTENT) for e in examples])
        self._model = (features, svm)
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        if self._model is None:  # nothing was trained: every message goes to the fallback
            for message in messages:
                message.set(INTENT, {"name": None, "confidence": 0.0}, add_to_output=True)
                message.set("intent_ranking", [], add_to_output=True)
            return messages
        features, svm = self._model
        texts = [normalise(m.get(TEXT) or "") for m in messages]
        scores = svm.decision_function(features.transform(texts)) * self._config["confidence_scale"]
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities = scores / scores.sum(axis=1, keepdims=True)
        for message, row in zip(messages, probabilities, strict=True):
            order = np.argsort(-row)[: self._config["ranking_length"]]
            ranking = [{"name": str(svm.classes_[i]), "confidence": float(row[i])} for i in order]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self._model, directory / _MODEL_FILE)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> LinearIntentClassifier:
        import skops.io as sio

        try:
            with model_storage.read_from(resource) as directory:
                path = directory / _MODEL_FILE
                untrusted = sio.get_untrusted_types(file=path)
                unexpected = [t for t in untrusted if t not in _STORED_TYPES]
                if unexpected:
                    raise TypeError(f"unexpected types in {path.name}: {unexpected}")
                model = sio.load(path, trusted=untrusted)
        except ValueError:  # Rasa's "no such resource": training had no intents to learn
            logger.warning("No trained intent classifier in this model; every message falls back.")
            model = None
        return cls(config, model_storage, resource, model)
