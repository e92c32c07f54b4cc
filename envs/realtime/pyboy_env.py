"""The Game Boy of the paper's real setting, backed by the PyBoy emulator (Riemer et al., ICLR
2025, §5: Tetris and Pokémon at 59.7275 frames/s, 84×84 grayscale, 6 actions + noop).

:class:`GameBoyEnv` is a :class:`~envs.realtime.host.HostEnv`: one ``step`` is one emulator frame
(``pyboy.tick()``), run headless (``window="null"``, sound off) and unthrottled, because the
wall-clock :func:`~envs.realtime.runner.run` sets the pace. ROMs are not distributable: pass
the path of a ROM you own.

Actions (choice where the paper only gives the count): ``0`` noop, ``1`` left, ``2`` right,
``3`` up, ``4`` down, ``5`` A, ``6`` B: the D-pad and the two action buttons cover moving and
menus in Pokémon and moving, soft-dropping (down) and rotating (A/B) in Tetris; Start and
Select are left out (the game wrapper passes the menus). An action holds its button for the
frame; the same action on the next frame keeps holding it (so Tetris's auto-repeat works) and
any other action releases it first.

Observation: the 160×144 screen as luminance (0.299 R + 0.587 G + 0.114 B), area-averaged to
84×84 and rounded to ``uint8`` (exact weights of the overlap of output and input pixels, so a
uniform screen stays uniform).

Games: ``"tetris"`` (the ROM titled ``TETRIS``; PyBoy's Tetris game wrapper passes the menus;
reward = the change of the score, which that wrapper reads off the background tile map, as it
documents no RAM address for it; ``done`` on game over), ``"pokemon"`` (Pokémon Red or Blue;
PyBoy's game wrapper passes the intro; reward 0 and never done: the paper's battle and catch
rewards need RAM addresses this module does not model) and ``"generic"`` (any ROM, reward 0,
never done; the game starts where the boot ROM hands over to the cartridge, at 0x100).
``reset`` restores the state saved when the game started, with the timer register drawn from
``seed`` (Tetris's pieces depend on it), and renders one frame. When an episode ends, ``step``
resets and returns the new episode's first observation with ``done=True`` (a live game goes on).
"""

from __future__ import annotations

import os
import random
import warnings

import numpy as np

GAMES = ("tetris", "pokemon", "generic")
BUTTONS = (None, "left", "right", "up", "down", "a", "b")
OBS_SIZE = 84
_TITLES = {"tetris": ("TETRIS",), "pokemon": ("POKEMON RED", "POKEMON BLUE")}


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)`` weights: output pixel ``o`` averages input interval
    ``[o, o+1)·n_in/n_out``."""
    edges = np.arange(n_out + 1) * n_in / n_out
    lo, hi = edges[:-1, None], edges[1:, None]
    pixel = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, pixel + 1) - np.maximum(lo, pixel), 0.0, None)
    return overlap / (n_in / n_out)


def to_observation(rgba: np.ndarray, size: int = OBS_SIZE) -> np.ndarray:
    """An ``(H, W, 3 or 4)`` screen as a ``(size, size)`` uint8 luminance image (area average)."""
    rgb = np.asarray(rgba, np.float64)[..., :3]
    gray = rgb @ np.array([0.299, 0.587, 0.114])
    rows, cols = _area_weights(gray.shape[0], size), _area_weights(gray.shape[1], size)
    return np.clip(np.rint(rows @ gray @ cols.T), 0, 255).astype(np.uint8)


class GameBoyEnv:
    """A Game Boy ROM under PyBoy as a frame-stepped :class:`~envs.realtime.host.HostEnv`."""

    num_actions = len(BUTTONS)
    noop_action = 0

    def __init__(self, rom_path, game: str = "tetris", seed: int = 0):
        if game not in GAMES:
            raise ValueError(f"game={game!r} is invalid: expected one of {GAMES}")
        if rom_path is None or not os.path.isfile(rom_path):
            raise FileNotFoundError(
                f"GameBoyEnv needs a Game Boy ROM file, and rom_path={rom_path!r} is "
                f"{'not given' if rom_path is None else 'not a file'}. ROMs are not "
                "distributable: pass the path of a ROM you own.")
        try:
            with warnings.catch_warnings():  # pysdl2's notice on import; we run headless
                warnings.filterwarnings("ignore", "Using SDL2 binaries", UserWarning)
                from pyboy import PyBoy
        except ImportError as exc:
            raise ImportError("GameBoyEnv needs the PyBoy emulator: pip install pyboy") from exc
        self.game = game
        self._rng = random.Random(seed)
        self._pyboy = PyBoy(os.fspath(rom_path), window="null", sound_emulated=False,
                            log_level="ERROR")
        self._pyboy.set_emulation_speed(0)  # unthrottled: the runner keeps time
        title = self._pyboy.cartridge_title
        if game in _TITLES and title not in _TITLES[game]:
            self._pyboy.stop(save=False)
            raise ValueError(f"game={game!r} expects a ROM titled one of {_TITLES[game]}, but "
                             f"{rom_path!r} is titled {title!r} (use game='generic')")
        if game == "generic":
            self._skip_boot()
        self._wrapper = self._pyboy.game_wrapper
        self._wrapper.start_game(timer_div=self._rng.getrandbits(8))
        self._held: str | None = None
        self._closed = False
        self._score = 0

    def _skip_boot(self, max_frames: int = 1000) -> None:
        """Run the boot ROM until the cartridge's entry point (0x100) first executes."""
        entered: list[int] = []
        self._pyboy.hook_register(0, 0x100, lambda ctx: ctx.append(1), entered)
        try:
            for _ in range(max_frames):
                self._pyboy.tick(1, False, False)
                if entered:
                    return
        finally:
            self._pyboy.hook_deregister(0, 0x100)
        self._pyboy.stop(save=False)
        raise RuntimeError(f"the boot ROM did not reach the cartridge entry point within "
                           f"{max_frames} frames")

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def pyboy(self):
        """The emulator (for RAM reads, save states)."""
        return self._pyboy

    def _observe(self) -> np.ndarray:
        return to_observation(self._pyboy.screen.ndarray)

    def _read_score(self) -> int:
        return int(self._wrapper.score) if self.game == "tetris" else 0

    def _hold(self, button: str | None) -> None:
        if button == self._held:
            return
        if self._held is not None:
            self._pyboy.button_release(self._held)
        if button is not None:
            self._pyboy.button_press(button)
        self._held = button

    def reset(self) -> np.ndarray:
        self._hold(None)
        self._wrapper.reset_game(timer_div=self._rng.getrandbits(8))
        self._pyboy.tick(1, True, False)
        self._score = self._read_score()
        return self._observe()

    def step(self, action) -> tuple[np.ndarray, float, bool]:
        action = int(action)
        if not 0 <= action < self.num_actions:
            raise ValueError(f"action={action} is invalid: expected 0 <= action < "
                             f"{self.num_actions} ({BUTTONS})")
        self._hold(BUTTONS[action])
        self._pyboy.tick(1, True, False)
        score = self._read_score()
        reward, self._score = float(score - self._score), score
        done = self.game == "tetris" and bool(self._wrapper.game_over())
        if done:  # a live game goes on: return the new episode's first observation
            return self.reset(), reward, True
        return self._observe(), reward, False

    def close(self) -> None:
        if not self._closed:
            self._pyboy.stop(save=False)
            self._closed = True

