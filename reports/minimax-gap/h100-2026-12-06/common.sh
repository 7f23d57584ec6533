# sourced by the GPU scripts: install the carried wheels (project included) and set the environment. --upgrade (added
# after the morning's calls, a no-op on the fresh machines they ran on): a warm machine keeps /tmp/site from the last call
python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site PYTHONUNBUFFERED=1 WANDB_MODE=offline HYBRID_EVAL_CACHE=/tmp/cache TRITON_CACHE_DIR=/tmp/triton
export PATH=/tmp/site/bin:$PATH
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee $OUT/gpu.txt
python3 -c "import torch, transformers, triton, fla; print('torch', torch.__version__, 'transformers', transformers.__version__, 'triton', triton.__version__, 'fla', fla.__version__)" | tee -a $OUT/gpu.txt
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }
