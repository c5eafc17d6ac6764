"""The one-call API: :func:`train`, :func:`embed` and :func:`evaluate`.

>>> import hyptax
>>> r = hyptax.train("wordnet:mammals", dim=5, epochs=3)  # doctest: +SKIP
>>> r.embeddings.distance("dog.n.01", "cat.n.01")  # doctest: +SKIP
>>> print(r.report)  # doctest: +SKIP

``data`` is a dataset spec (:mod:`hyptax.data.specs`), a :class:`Taxonomy`, or an iterable
of ``(child, parent)`` name pairs (parent edges, or their closure: told apart as for an
edge list file). Settings are the fields of :class:`~hyptax.config.TrainConfig`
(:class:`~hyptax.config.EvalConfig` for :func:`evaluate`). Nothing is written unless
``out`` names a run folder; the library logs its progress lines (``logging``, logger
``hyptax``) and never prints.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

from . import pipeline
from .config import DataOptions, EvalConfig, TrainConfig, from_dict
from .data import IN_MEMORY, load_taxonomy
from .data.taxonomy import Taxonomy
from .embeddings import Embeddings
from .errors import ConfigError, HyptaxError
from .storage import RunPaths

logger = logging.getLogger(__name__)

Data = str | Path | Taxonomy | Iterable[Sequence[str]]
"""What :func:`train` and :func:`embed` accept as data."""

C = TypeVar("C", TrainConfig, EvalConfig)


class Report(Mapping[str, Any]):
    """An evaluation report: the JSON-able dict of
    :func:`hyptax.evaluation.report.evaluate`, read as a mapping
    (``report["reconstruction"]["map"]``), printed as the table ``hyptax evaluate``
    shows (``str(report)``), and copied out whole by :meth:`to_dict`."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __str__(self) -> str:
        from .evaluation.report import format_report  # scipy: imported on first use

        return format_report(self._data)

    def __repr__(self) -> str:
        rec = self._data.get("reconstruction") or {}
        return f"Report(MAP {rec.get('map')}, mean rank {rec.get('mean_rank')})"

    def to_dict(self) -> dict[str, Any]:
        """The report as the plain dict written to ``report.json``."""
        return self._data


@dataclass(frozen=True)
class Result:
    """What :func:`train` and :func:`embed` return.

    Attributes:
        embeddings: the best weights (by the stop metric), in memory, with the
            data's ranks and depths; ``meta`` records the config and the data.
        report: the final evaluation.
        history: one record per evaluation during training (``[]`` for a construction).
        taxonomy: the data.
        config: the config as resolved for the data.
        out: the run folder, when one was written.
    """

    embeddings: Embeddings
    report: Report
    history: list[dict[str, Any]]
    taxonomy: Taxonomy
    config: TrainConfig
    out: Path | None = None


def train(
    data: Data, /, *, out: str | Path | None = None, resume: bool = False,
    evaluation: EvalConfig | None = None, **settings: Any,
) -> Result:  # fmt: skip
    """Train an embedding of ``data`` (see the module docstring); ``settings`` are
    :class:`~hyptax.config.TrainConfig` fields (``dim=5, epochs=50``).

    ``out`` writes the run folder as ``hyptax train --out`` does; ``resume=True``
    continues the run there (given the same data, in memory or by spec; the settings
    a resumed run may change are :data:`hyptax.training.resume.RESUMABLE_CHANGES`).
    """
    paths = None if out is None else RunPaths.in_dir(out)
    spec, tax = _data(data)
    if resume:
        if paths is None:
            raise ConfigError("resume=True needs out=, the run folder to continue")
        config = pipeline.stored_config(paths, **_checked(TrainConfig, settings, data=spec))
    else:
        config = make_config(TrainConfig, settings, data=spec)
    result = pipeline.run(config, paths=paths, resume=resume, evaluation=evaluation, tax=tax)
    return _result(result, paths)


def embed(
    data: Data, /, *, out: str | Path | None = None, evaluation: EvalConfig | None = None,
    **settings: Any,
) -> Result:  # fmt: skip
    """The construction alone, without training (``hyptax embed``): the same
    :class:`Result`, at epoch 0. ``settings``: as for :func:`train`."""
    paths = None if out is None else RunPaths.in_dir(out)
    spec, tax = _data(data)
    config = make_config(TrainConfig, settings, data=spec)
    result = pipeline.embed(config, paths=paths, evaluation=evaluation, tax=tax)
    return _result(result, paths)


def evaluate(
    embeddings: Embeddings, data: Data | None = None, /, **eval_settings: Any,
) -> Report:  # fmt: skip
    """Evaluate ``embeddings`` against ``data`` (default: the data recorded with them,
    read again from its spec); ``eval_settings`` are
    :class:`~hyptax.config.EvalConfig` fields (``sample=500``). A holdout split the
    embedding was trained with is measured as ``hyptax evaluate`` does."""
    from .evaluation.report import evaluate as evaluate_report

    config = make_config(EvalConfig, eval_settings)
    recorded = embeddings.meta.get("data") or {}
    if data is None:
        spec = recorded.get("spec")
        if not spec or spec == IN_MEMORY:
            raise HyptaxError(
                f"{embeddings!r}: no data file is recorded with them; pass the data, "
                "hyptax.evaluate(embeddings, data)"
            )
        options = from_dict(DataOptions, recorded.get("options") or {})
        tax = load_taxonomy(spec, options)
    else:
        spec, given = _data(data)
        tax = given if given is not None else load_taxonomy(spec)
    train_config = embeddings.meta.get("config") or {}
    report = evaluate_report(
        embeddings, tax, config, holdout=float(train_config.get("holdout") or 0.0),
        split_seed=int(train_config.get("seed") or 0), progress=False,
    )  # fmt: skip
    return Report(report)


def make_config(cls: type[C], settings: dict[str, Any], **fixed: Any) -> C:
    """``cls(**settings, **fixed)``, or a :class:`ConfigError` naming the valid
    settings when one is unknown."""
    return cls(**_checked(cls, settings, **fixed))


def _checked(cls: type[Any], settings: dict[str, Any], **fixed: Any) -> dict[str, Any]:
    valid = [f.name for f in fields(cls) if f.name not in fixed]
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise ConfigError(
            f"unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the {cls.__name__} settings are: {', '.join(valid)}"
        )
    return {**settings, **fixed}


def _data(data: Data) -> tuple[str, Taxonomy | None]:
    """The spec to record and, for data given in memory, the taxonomy itself."""
    if isinstance(data, str):
        return data, None
    if isinstance(data, Path):
        return str(data), None
    if isinstance(data, Taxonomy):
        return IN_MEMORY, data
    from .data.edgelist import load_pairs

    if not isinstance(data, Iterable):
        raise TypeError(
            "data must be a dataset spec, a Taxonomy or (child, parent) pairs, "
            f"not {type(data).__name__}"
        )
    return IN_MEMORY, load_pairs(data, IN_MEMORY)


def _result(result: pipeline.RunResult, paths: RunPaths | None) -> Result:
    emb = result.embeddings()
    history = [] if result.state is None else list(result.state.history)
    report = Report(result.report or {})
    out = None if paths is None else paths.best.parent
    return Result(emb, report, history, result.tax, result.config, out)
