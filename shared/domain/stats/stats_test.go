package stats_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/daifuku/daifuku/shared/domain/stats"
)

// shop draws one month of a simulated shop: n treated and n/9 held out
// (a 10% holdout), each buying again with its rate.
func shop(rng *rand.Rand, n int, base, effect float64) (treated, holdout stats.Proportion) {
	held := n / 9
	treated, holdout = stats.Proportion{N: n}, stats.Proportion{N: held}
	for range n {
		if rng.Float64() < base+effect {
			treated.K++
		}
	}
	for range held {
		if rng.Float64() < base {
			holdout.K++
		}
	}
	return treated, holdout
}

// The interval is honest: across many simulated shops it covers the true
// lift in about 95% of them (at least 90% asked), and with no true lift it
// claims significance in about 5% (at most about 10%).
func TestTheIntervalCoversTheTrueLift(t *testing.T) {
	const runs = 400
	for _, c := range []struct {
		name         string
		n            int
		base, effect float64
	}{
		{"a clear lift", 3000, 0.12, 0.04},
		{"a small shop", 300, 0.10, 0.03},
		{"no lift", 3000, 0.12, 0},
		{"no lift, a small shop", 300, 0.05, 0},
	} {
		rng := rand.New(rand.NewPCG(1, uint64(c.n)))
		covered, claimed := 0, 0
		for range runs {
			l := stats.DiffProportions(shop(rng, c.n, c.base, c.effect))
			if l.Low <= c.effect && c.effect <= l.High {
				covered++
			}
			if l.Significant {
				claimed++
			}
		}
		cover := float64(covered) / runs
		if cover < 0.90 {
			t.Errorf("%s: the interval covered the true lift in %.1f%% of runs", c.name, 100*cover)
		}
		if c.effect == 0 && float64(claimed)/runs > 0.10 {
			t.Errorf("%s: a lift was claimed in %.1f%% of runs with none", c.name, 100*float64(claimed)/runs)
		}
		t.Logf("%s: covered %.1f%%, significant %.1f%%", c.name, 100*cover, 100*float64(claimed)/runs)
	}
}

func TestWelchCoversTheTrueDifferenceOfMeans(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	covered := 0
	const runs = 400
	for range runs {
		draw := func(n int, mean, sd float64) stats.Sample {
			v := make([]float64, n)
			for i := range v {
				v[i] = mean + sd*rng.NormFloat64()
			}
			return stats.Summarise(v)
		}
		l := stats.DiffMeans(draw(400, 5200, 3000), draw(45, 4800, 1500))
		if l.Low <= 400 && 400 <= l.High {
			covered++
		}
	}
	if cover := float64(covered) / runs; cover < 0.90 {
		t.Errorf("Welch's interval covered the true difference in %.1f%% of runs", 100*cover)
	}
}

func TestEdgesAndSampleSize(t *testing.T) {
	l := stats.DiffProportions(stats.Proportion{K: 3, N: 10}, stats.Proportion{})
	if l.Significant || !math.IsNaN(l.Rel) {
		t.Errorf("an empty holdout decides nothing: %+v", l)
	}
	// Detecting five points over 10% takes about 680 customers a group.
	if n := stats.SampleSize(0.10, 0.05); n < 600 || n > 760 {
		t.Errorf("sample size %d", n)
	}
	if n := stats.SampleSize(0.10, 0); n != 0 {
		t.Errorf("no lift to detect: %d", n)
	}
}
