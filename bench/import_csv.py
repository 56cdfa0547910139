"""Benchmark: `sender contacts import` of a 100,000-row CSV, dry run then commit, on PostgreSQL (or SQLite).

The file mixes what real lists hold: French headers, ';' separators, cp1252 accents, national phone
numbers, 1 % bad phones, 0.5 % invalid emails, 1 % duplicates within the file, 10 % contacts already in
the database (merged) and 0.5 % suppressed addresses. The batch claims consent, so every accepted row also
gets a consent event. Prints rows/s and the peak memory (RSS) of the command for each phase.

    python bench/import_csv.py                    # 100,000 rows on PostgreSQL
    python bench/import_csv.py --rows 20000 --sqlite

BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/sender_import_bench; created and reset)
chooses the server.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sender.addresses import address_hash
from sender.config import load_settings
from sender.migrate import upgrade
from sender.models import ConsentWording, Contact, Purpose, Suppression
from sender.runtime import build_runtime

HASH_KEY = "bench-hash-key-0123456789abcdef"


def reset_postgres(url: str) -> None:
    """Create the bench database if needed and empty its schema."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        ).first():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    engine = create_engine(parsed.set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def write_file(path: Path, rows: int) -> None:
    """The CSV, written line by line."""
    with path.open("w", encoding="cp1252", newline="") as out:
        out.write("Courriel;Prénom;Nom;Téléphone;Pays;Ville\r\n")
        for i in range(rows):
            email = f"personne{i}@exemple.fr" if i % 200 != 7 else f"personne{i}-at-exemple.fr"
            if i % 100 == 3 and i > 0:
                email = f"personne{i - 1}@exemple.fr"  # duplicate of the previous row
            phone = f"06{i % 100_000_000:08d}" if i % 100 != 5 else "12"
            out.write(f"{email};Hélène;Lefèvre-{i};{phone};FR;Besançon\r\n")


def seed(url: str, rows: int) -> None:
    """Migrations, a consent purpose, existing contacts (10 %) and suppressed addresses (0.5 %)."""
    upgrade(url)
    runtime = build_runtime(
        load_settings({"DATABASE_URL": url, "HASH_KEY": HASH_KEY, "INSTANCE_PATH": tempfile.mkdtemp()})
    )
    with runtime.Session() as session:
        purpose = Purpose(slug="newsletter", name="Newsletter", description="News", consent_validity_days=730)
        session.add(purpose)
        session.flush()
        session.add(ConsentWording(purpose_id=purpose.id, version=1, text="Oui, envoyez-moi la newsletter."))
        existing = [
            {
                "email": f"personne{i}@exemple.fr",
                "email_hash": address_hash(HASH_KEY, f"personne{i}@exemple.fr"),
                "public_id": f"bench{i}",
                "attributes": {},
                "source": "api",
                "status": "active",
                "is_legacy": False,
            }
            for i in range(1, rows, 10)
        ]
        session.execute(insert(Contact), existing)
        suppressed = [
            {
                "address_hash": address_hash(HASH_KEY, f"personne{i}@exemple.fr"),
                "channel": "email",
                "reason": "erasure",
            }
            for i in range(4, rows, 200)
        ]
        session.execute(insert(Suppression), suppressed)
        session.commit()
    runtime.engine.dispose()


def run_phase(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run the command, sampling its memory; (seconds, peak RSS in MB, output)."""
    script = Path(sys.executable).with_name("sender")
    start = time.perf_counter()
    proc = subprocess.Popen(
        [str(script), *args], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    handle = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, handle.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise SystemExit(f"sender {' '.join(args)} failed:\n{output}")
    return elapsed, peak / 1e6, output


def main() -> None:
    """Build the file, seed the database, run the dry run and the commit, print the figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true", help="Use a SQLite file instead of PostgreSQL.")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if options.sqlite:
            url = f"sqlite:///{work / 'bench.db'}"
        else:
            url = os.environ.get(
                "BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/sender_import_bench"
            )
            reset_postgres(url)
        csv_path = work / "contacts.csv"
        write_file(csv_path, options.rows)
        seed(url, options.rows)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "HASH_KEY": HASH_KEY,
            "INSTANCE_PATH": str(work / "instance"),
        }
        common = [
            "contacts",
            "import",
            str(csv_path),
            "--source",
            "bench",
            "--legal-basis",
            "consent",
            "--purpose",
            "newsletter",
            "--wording-version",
            "1",
            "--collected-on",
            "2026-01-15",
        ]
        size_mb = csv_path.stat().st_size / 1e6
        print(f"{options.rows:,} rows, {size_mb:.1f} MB, {'SQLite' if options.sqlite else 'PostgreSQL'}")
        print(f"{'phase':<10} {'seconds':>8} {'rows/s':>9} {'peak RSS MB':>12}")
        for phase, extra in (("dry run", []), ("commit", ["--commit"])):
            seconds, peak, output = run_phase([*common, *extra], env, work)
            print(f"{phase:<10} {seconds:>8.1f} {options.rows / seconds:>9,.0f} {peak:>12.0f}")
        print(next(line for line in output.splitlines() if line.startswith("rows:")))


if __name__ == "__main__":
    main()
