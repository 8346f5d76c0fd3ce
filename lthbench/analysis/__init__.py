"""Analysis of results datasets: curves and statistics, the method comparison, the paper's claims, the
report's figures and the generated tables of docs/reproduction.md.

    datasets -> curves (CurveData per task, method, control) -> stats / dense_match / area
             -> compare (+ compare_format), claims/ (one module per claim family), report (figures,
                filter_figures), reproduction
"""
