"""GameBoyEnv (PyBoy) on a tiny ROM built here, and on Tetris when a ROM is provided.

The test ROM (32 KiB, ROM-only cartridge, valid header checksum, no Nintendo logo: PyBoy's own
boot ROM does not check it) loops forever: it reads the joypad, stores the pressed-button mask
(1 = pressed; bits 0-3 right, left, up, down; bits 4-7 A, B, select, start) at HRAM 0xFF80,
and sets the background palette to all black while any button is pressed, all white otherwise.
So a press is visible both in RAM and on the screen.
"""

import importlib.util
import os
import sys
import threading

import numpy as np
import pytest

from envs.realtime import host
from envs.realtime.pyboy_env import BUTTONS, GameBoyEnv, to_observation
from envs.realtime.runner import THREAD_PREFIX, run

requires_pyboy = pytest.mark.skipif(importlib.util.find_spec("pyboy") is None,
                                    reason="GameBoyEnv needs pyboy (pip install pyboy)")

LOOP = 0x150
PROGRAM = bytes([
    0x3E, 0x20, 0xE0, 0x00,  # ld a,0x20; ldh (P1),a      select the D-pad
    0xF0, 0x00, 0xF0, 0x00,  # ldh a,(P1) (twice)
    0xE6, 0x0F, 0x47,  # and 0x0F; ld b,a               b = D-pad bits (0 = pressed)
    0x3E, 0x10, 0xE0, 0x00,  # ld a,0x10; ldh (P1),a      select the buttons
    0xF0, 0x00, 0xF0, 0x00,  # ldh a,(P1) (twice)
    0xE6, 0x0F, 0xCB, 0x37,  # and 0x0F; swap a
    0xB0, 0x2F,  # or b; cpl                             a = pressed mask
    0xE0, 0x80,  # ldh (0x80),a
    0xB7, 0x28, 0x02, 0x3E, 0xFF,  # or a; jr z,+2; ld a,0xFF
    0xE0, 0x47,  # ldh (BGP),a                           palette: black if pressed
])
PRESSED_MASK = {"right": 0x01, "left": 0x02, "up": 0x04, "down": 0x08, "a": 0x10, "b": 0x20}


def build_test_rom() -> bytes:
    rom = bytearray(32 * 1024)
    rom[0x100:0x104] = bytes([0x00, 0xC3, LOOP & 0xFF, LOOP >> 8])  # nop; jp LOOP
    rom[0x134:0x13C] = b"RTLTEST\x00"  # title; cartridge type, ROM and RAM size stay 0
    program = PROGRAM + bytes([0x18, (-(len(PROGRAM) + 2)) & 0xFF])  # jr LOOP
    rom[LOOP:LOOP + len(program)] = program
    checksum = 0
    for byte in rom[0x134:0x14D]:
        checksum = (checksum - byte - 1) & 0xFF
    rom[0x14D] = checksum
    return bytes(rom)


@pytest.fixture
def rom(tmp_path):
    path = tmp_path / "test.gb"
    path.write_bytes(build_test_rom())
    return path


@pytest.fixture
def env(rom):
    pytest.importorskip("pyboy", reason="GameBoyEnv needs pyboy (pip install pyboy)")
    env = GameBoyEnv(rom, game="generic")
    yield env
    env.close()


def test_missing_rom_is_a_clear_error(tmp_path):
    missing = tmp_path / "tetris.gb"
    with pytest.raises(FileNotFoundError, match="tetris.gb.*ROM"):
        GameBoyEnv(missing)
    with pytest.raises(FileNotFoundError, match="not given"):
        GameBoyEnv(None)


def test_without_pyboy_the_error_says_how_to_install_it(rom, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyboy", None)  # makes `import pyboy` fail
    with pytest.raises(ImportError, match="pip install pyboy"):
        GameBoyEnv(rom, game="generic")


@requires_pyboy
def test_wrong_game_for_rom_is_a_clear_error(rom):
    with pytest.raises(ValueError, match="TETRIS.*RTLTEST"):
        GameBoyEnv(rom, game="tetris")
    with pytest.raises(ValueError, match="game="):
        GameBoyEnv(rom, game="zelda")


def test_reset_and_step_give_84x84_uint8_frames_one_tick_each(env):
    assert isinstance(env, host.HostEnv)
    obs = env.reset()
    assert obs.shape == (84, 84) and obs.dtype == np.uint8
    start = env.pyboy.frame_count
    for i in range(1, 6):
        obs, reward, done = env.step(env.noop_action)
        assert env.pyboy.frame_count == start + i
        assert obs.shape == (84, 84) and reward == 0.0 and done is False


@pytest.mark.parametrize("action", range(1, len(BUTTONS)))
def test_each_action_presses_its_button_and_noop_releases(env, action):
    env.reset()
    for _ in range(3):
        env.step(env.noop_action)
    assert env.pyboy.memory[0xFF80] == 0
    released, _, _ = env.step(env.noop_action)
    assert released.min() == 255  # all white
    for _ in range(2):  # held over two frames: the second frame is entirely drawn pressed
        pressed, _, _ = env.step(action)
    assert env.pyboy.memory[0xFF80] == PRESSED_MASK[BUTTONS[action]]
    assert pressed.max() == 0  # all black
    for _ in range(2):
        env.step(env.noop_action)
    assert env.pyboy.memory[0xFF80] == 0


def test_a_new_action_releases_the_previous_button(env):
    env.reset()
    for action in (1, 1, 2, 2):  # left, left, right, right
        env.step(action)
    assert env.pyboy.memory[0xFF80] == PRESSED_MASK["right"]  # not left | right


def test_reset_restores_the_start_state(env):
    env.reset()
    for _ in range(4):
        env.step(5)
    assert env.pyboy.memory[0xFF80] != 0
    env.reset()
    env.step(env.noop_action)
    assert env.pyboy.memory[0xFF80] == 0


@requires_pyboy
def test_close_stops_the_emulator(rom):
    env = GameBoyEnv(rom, game="generic")
    env.reset()
    env.close()
    assert env.closed
    env.close()  # idempotent


def test_to_observation_area_average_matches_hand_computed():
    # A 144x160 screen whose left half is black and right half white: output columns covering
    # only one half are 0 or 255; the one straddling column mixes them by its overlap.
    screen = np.zeros((144, 160, 4), np.uint8)
    screen[:, 80:, :3] = 255
    obs = to_observation(screen)
    scale = 160 / 84
    straddle = int(80 // scale)
    white_share = (straddle + 1) * scale - 80
    assert (obs[:, :straddle] == 0).all() and (obs[:, straddle + 1:] == 255).all()
    assert obs[0, straddle] == round(255 * white_share / scale)
    assert (obs == obs[0]).all()  # rows identical


TETRIS_ROM = os.environ.get("GAMEBOY_TETRIS_ROM")


@requires_pyboy
@pytest.mark.skipif(not TETRIS_ROM, reason="set GAMEBOY_TETRIS_ROM to a Tetris ROM you own to "
                    "test the Tetris game wrapper (ROMs are not distributable)")
def test_tetris_scores_and_ends():
    env = GameBoyEnv(TETRIS_ROM, game="tetris", seed=0)
    try:
        env.reset()
        total, dones = 0.0, 0
        for _ in range(20_000):  # hold down: every piece soft-drops onto the middle column
            obs, reward, done = env.step(4)
            assert reward >= 0 and obs.shape == (84, 84)
            total += reward
            dones += done
            if dones:
                break
        assert dones == 1  # stacking pieces in the middle tops out
        assert total > 0  # soft drops score a point per row in Game Boy Tetris
    finally:
        env.close()


def test_runs_under_the_wall_clock_runner(env):
    def press_a(params, obs, key):
        assert obs.shape == (84, 84) and obs.dtype == np.uint8
        return 5

    start = env.pyboy.frame_count
    result = run(env, press_a, mode="staggered", num_workers=2, num_frames=30, fps=250.0,
                 imposed_seconds=2 / 250.0)
    assert env.pyboy.frame_count == start + 1 + 30  # reset renders one frame, then 30 steps
    assert result.fresh.any()
    assert not [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]
