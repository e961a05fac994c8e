package simulate_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/daifuku/daifuku/infra/simulate"
)

// BenchmarkCoverage is the report's honesty, measured (make bench-coverage):
// across SEEDS simulated shops (20 unless set), the 95% intervals of the
// rows with a holdout cover the true effect in at least 90% of cases, and
// with no effect at all significance is claimed in at most about 10%.
func BenchmarkCoverage(b *testing.B) {
	seeds := 20
	if s, err := strconv.Atoi(os.Getenv("SEEDS")); err == nil && s > 0 {
		seeds = s
	}
	for range b.N {
		for _, effect := range []float64{0.1, 0} {
			rows, covered, claimed := 0, 0, 0
			for seed := range seeds {
				for _, rep := range shop(b, simulate.Options{Customers: 600, Months: 1, Effect: effect, Seed: uint64(1000 + seed)}) {
					for _, l := range rep.Rows {
						if l.Lift == nil {
							continue
						}
						rows++
						if l.Lift.Low <= effect && effect <= l.Lift.High {
							covered++
						}
						if l.Lift.Significant {
							claimed++
						}
					}
				}
			}
			cover, claim := float64(covered)/float64(rows), float64(claimed)/float64(rows)
			b.Logf("effect %+.0f points: %d rows over %d shops; the interval covers it in %.1f%%; significance claimed in %.1f%%",
				100*effect, rows, seeds, 100*cover, 100*claim)
			if effect > 0 {
				b.ReportMetric(100*cover, "%covered")
				if cover < 0.9 {
					b.Errorf("the 95%% interval covered the true effect in %.1f%% of %d rows; want ≥ 90%%", 100*cover, rows)
				}
			} else {
				b.ReportMetric(100*claim, "%false-claims")
				if claim > 0.12 {
					b.Errorf("with no effect, significance was claimed in %.1f%% of %d rows; want ≤ about 10%%", 100*claim, rows)
				}
			}
		}
	}
}
