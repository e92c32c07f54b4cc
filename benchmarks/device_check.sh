#!/usr/bin/env bash
# Accelerator checks in one short run: the machine and its versions, RL and LLM throughput side
# by side with their baselines (benchmarks.rl_throughput, benchmarks.llm_throughput with the
# GPU-sized rows), the paper preset of the PPO baseline (CartPole in full, then the first
# minute of MinAtar Breakout), the pipelined network's inference latency, short probes of the
# temporal_skip and adaptive_stacking paper presets (their paper configs on one game or length,
# fewer steps: throughput per run from each run folder's timing.json), and every notebook at
# small settings on the accelerator (notebooks/run_all.py, several at once).
#
#     bash benchmarks/device_check.sh OUTDIR            # every step, 20 minutes at most
#     STEPS="pipeline notebooks" bash benchmarks/device_check.sh OUTDIR
#
# Each step has its own time limit and a failing step does not stop the next; every step's log
# and JSON land in OUTDIR, and the end of each log is printed.
set -u
out=${1:-device_check}
mkdir -p "$out"
export PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
py=${PYTHON:-python3}
runs=$(mktemp -d)

step() {
  local name=$1 limit=$2
  shift 2
  case " ${STEPS:-all} " in *" all "*|*" $name "*) ;; *) return 0 ;; esac
  echo "=== $name (limit ${limit}s)"
  local t0=$SECONDS
  timeout -k 5 "$limit" "$@" >"$out/$name.log" 2>&1
  echo "=== $name rc=$? in $((SECONDS - t0))s"
  tail -n "${TAIL:-30}" "$out/$name.log" | tr '\r' '\n' | tail -n "${TAIL:-30}"
}

step info 40 bash -c "nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; \
  $py -c 'import jax, flax, optax, equinox, torch, transformers; \
print(\"jax\", jax.__version__, jax.devices()); print(\"flax\", flax.__version__, \"optax\", \
optax.__version__, \"equinox\", equinox.__version__); print(\"torch\", torch.__version__, \
torch.cuda.is_available(), \"transformers\", transformers.__version__); \
import envs, jaxrl, llm, experiments.harness; print(\"project imports ok\")'"
step rl "${RL_LIMIT:-170}" "$py" -m benchmarks.rl_throughput --quick --repeats 3 --no-sb3 \
  --env-sizes 1,1024,16384 --ppo-envs 4,2048 --breakout-envs 64,1024 --out "$out/rl.json"
step llm "${LLM_LIMIT:-240}" "$py" -m benchmarks.llm_throughput --quick \
  --cases h512-L8,qwen0.5b --out "$out/llm.json"
step ppo_paper_cartpole "${PAPER_LIMIT:-60}" "$py" -m experiments.ppo_baseline --preset paper \
  --envs CartPole-v1 --out "$runs/cartpole"
cp "$runs/cartpole/summary.json" "$out/ppo_paper_cartpole.json" 2>/dev/null
step ppo_paper_breakout "${PAPER_LIMIT:-40}" "$py" -m experiments.ppo_baseline --preset paper \
  --envs Breakout-MinAtar --out "$runs/breakout"
step pipeline "${PIPE_LIMIT:-60}" "$py" -m benchmarks.pipeline_inference --repeats 30 \
  --out "$out/pipeline_inference.json"
step temporal_skip_probe "${PROBE_LIMIT:-140}" "$py" -m experiments.temporal_skip --preset paper \
  --envs Breakout-MinAtar --taus 2 --brax-envs --ppo.total-timesteps 40960 --chunks 2 \
  --out "$runs/ts_minatar"
step temporal_skip_brax_probe "${PROBE_LIMIT:-140}" "$py" -m experiments.temporal_skip \
  --preset paper --envs --brax-envs brax/hopper --brax-taus 2 --archs undelayed skip_history \
  --sac.total-timesteps 6000 --sac.learning-starts 2000 --chunks 3 --out "$runs/ts_brax"
step adaptive_stacking_probe "${PROBE_LIMIT:-140}" "$py" -m experiments.adaptive_stacking \
  --preset paper --parts ppo --ppo-lengths 1000 --extractors lstm transformer \
  --ppo-agents adaptive_k2 frame_kstar --ppo.total-timesteps 20480 --out "$runs/as_ppo"
for name in ts_minatar ts_brax as_ppo; do
  cp "$runs/$name/timing.json" "$out/${name}_timing.json" 2>/dev/null
done
step notebooks "${NB_LIMIT:-240}" "$py" notebooks/run_all.py --small --jobs 8 --timeout 220 \
  --out "$runs/notebooks"
cp "$runs/notebooks/results.json" "$out/notebooks.json" 2>/dev/null
rm -rf "$runs"
