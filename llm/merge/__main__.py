"""``python -m llm.merge config.yaml OUT_DIR``: run a mergekit-style YAML merge config."""

from __future__ import annotations

import argparse
import sys

from llm.merge.config import MergeConfig
from llm.merge.parents import MergeError
from llm.merge.run import merge


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llm.merge", description=__doc__)
    parser.add_argument("config", help="merge config in mergekit's YAML form")
    parser.add_argument("out_dir", help="output Hugging Face checkpoint directory")
    parser.add_argument("--max-shard-size", type=int, default=5 << 30,
                        help="bytes per output safetensors shard (default 5 GiB)")
    parser.add_argument("--quiet", action="store_true", help="no per-tensor progress")
    args = parser.parse_args(argv)
    try:
        config = MergeConfig.from_yaml(args.config)
        out = merge(config, args.out_dir, max_shard_bytes=args.max_shard_size,
                    progress=not args.quiet)
    except (MergeError, FileNotFoundError, ValueError) as err:
        print(f"llm.merge: error: {err}", file=sys.stderr)
        return 2
    print(f"llm.merge: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
