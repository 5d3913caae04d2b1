"""hydra-optuna-sweeper's sweeper, ending a search whose every trial failed in one line, with its summary.

When no trial completed, Optuna's ``study.best_trial`` raises ``ValueError: No trials are completed yet``
after the last trial, which Hydra prints as a traceback, and the sweep's summary (written at the end of a
multirun that did not raise) is lost. conf/hparams_search/*.yaml name this class as ``hydra.sweeper._target_``;
it lives in ``hydra_plugins`` because Hydra instantiates sweepers only from there.
"""

from pathlib import Path

from hydra_plugins.hydra_optuna_sweeper import optuna_sweeper

from torch_lessons.sweeps.summary import read_sweep, write_summary


class OptunaSweeper(optuna_sweeper.OptunaSweeper):
    def sweep(self, arguments: list[str]) -> None:
        try:
            return super().sweep(arguments)
        except ValueError as error:
            if "No trials are completed" not in str(error):
                raise
            sweep_dir = Path(self.sweeper.config.hydra.sweep.dir)
            rows = read_sweep(sweep_dir) if sweep_dir.is_dir() else []
            example = f" (e.g. {rows[-1].status})" if rows else ""
            summary = f"; summary: {sweep_dir / 'summary.md'}" if rows else ""
            if rows:
                write_summary(sweep_dir)
            raise SystemExit(f"error: every trial of the Optuna search failed{example}{summary}") from None
