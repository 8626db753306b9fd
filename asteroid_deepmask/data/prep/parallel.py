"""Running the jobs of a preparation step on several processes, with a progress bar."""
import os
from multiprocessing import Pool

from tqdm import tqdm


def run_parallel(function, jobs, workers, description: str, unit: str = "file", chunksize: int = 8) -> None:
    """``function(job)`` for every job, on ``workers`` processes (default: every CPU; 1: in this process)."""
    workers = workers or os.cpu_count() or 1
    if workers == 1:
        for job in tqdm(jobs, desc=description, unit=unit):
            function(job)
        return
    with Pool(workers) as pool:
        for _ in tqdm(pool.imap_unordered(function, jobs, chunksize=chunksize), total=len(jobs), desc=description, unit=unit):
            pass
