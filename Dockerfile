# One image for every CivicPulse process (web, bridge, worker, scheduler, simulator, migrations).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p config services workers sensors web \
 && touch config/__init__.py services/__init__.py workers/__init__.py sensors/__init__.py web/__init__.py \
 && pip install . && pip uninstall -y civicpulse

COPY . .
# Editable, so Alembic finds migrations/ and alembic.ini beside the code.
# /mosquitto/auth: the broker's credential files, written by `civic broker files` into a shared volume
# (a new named volume takes this directory's owner).
RUN pip install --no-deps -e . && useradd --system --uid 10001 civic \
 && mkdir -p /app/var /mosquitto/auth && chown civic /app/var /mosquitto/auth
USER civic

EXPOSE 8000
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--graceful-timeout", "5", "services.app:create_app()"]
