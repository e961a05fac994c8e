// Package stats says whether a message brought customers back, and by how
// much, with honest uncertainty: the difference between treated and held-out
// customers' repurchase rates (and revenue), a 95% interval around it, and
// when the data cannot tell yet, how many customers it would take.
package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Confidence is the level of every interval here.
const Confidence = 0.95

// z is the normal quantile of a two-sided 95% interval (1.96).
var z = distuv.UnitNormal.Quantile(1 - (1-Confidence)/2)

// Proportion is K of N (customers who bought again, of those counted).
type Proportion struct{ K, N int }

// Rate is K/N (0 for an empty group).
func (p Proportion) Rate() float64 {
	if p.N == 0 {
		return 0
	}
	return float64(p.K) / float64(p.N)
}

// Wilson is the Wilson score interval of a proportion: unlike the textbook
// p ± z·se it stays inside [0, 1] and keeps its coverage for small groups
// and rates near 0, which repurchase within a month often is.
func (p Proportion) Wilson() (lo, hi float64) {
	if p.N == 0 {
		return 0, 1
	}
	n, r := float64(p.N), p.Rate()
	centre := (r + z*z/(2*n)) / (1 + z*z/n)
	half := z / (1 + z*z/n) * math.Sqrt(r*(1-r)/n+z*z/(4*n*n))
	return centre - half, centre + half
}

// Lift is treated against held out.
type Lift struct {
	Abs float64 `json:"abs"` // difference of rates, in rate points (0.05 = five points)
	Rel float64 `json:"rel"` // Abs over the held-out rate (NaN when that is 0)
	// Low and High bound Abs at 95%.
	Low  float64 `json:"ci_low"`
	High float64 `json:"ci_high"`
	// Significant: the interval excludes 0.
	Significant bool `json:"significant"`
}

// DiffProportions is the lift of treated over held out, with Newcombe's
// hybrid score interval (method 10 of Newcombe 1998), built from the two
// Wilson intervals; its coverage stays close to 95% where the Wald
// interval's falls short.
func DiffProportions(treated, holdout Proportion) Lift {
	p1, p2 := treated.Rate(), holdout.Rate()
	l1, u1 := treated.Wilson()
	l2, u2 := holdout.Wilson()
	d := p1 - p2
	lift := Lift{
		Abs:  d,
		Low:  d - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2)),
		High: d + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2)),
		Rel:  math.NaN(),
	}
	if p2 > 0 {
		lift.Rel = d / p2
	}
	lift.Significant = treated.N > 0 && holdout.N > 0 && (lift.Low > 0 || lift.High < 0)
	return lift
}

// Sample is a group's values (revenue per customer), summarised.
type Sample struct {
	N        int
	Mean     float64
	Variance float64 // unbiased (n-1)
}

// Summarise reduces values to a Sample.
func Summarise(values []float64) Sample {
	s := Sample{N: len(values)}
	if s.N == 0 {
		return s
	}
	for _, v := range values {
		s.Mean += v
	}
	s.Mean /= float64(s.N)
	if s.N > 1 {
		for _, v := range values {
			s.Variance += (v - s.Mean) * (v - s.Mean)
		}
		s.Variance /= float64(s.N - 1)
	}
	return s
}

// DiffMeans is the difference of means (revenue per customer), treated
// against held out, with Welch's interval: the two groups' variances need
// not be equal, and with a holdout of 10% they rarely are in size.
func DiffMeans(treated, holdout Sample) Lift {
	d := treated.Mean - holdout.Mean
	lift := Lift{Abs: d, Rel: math.NaN(), Low: math.Inf(-1), High: math.Inf(1)}
	if holdout.Mean != 0 {
		lift.Rel = d / holdout.Mean
	}
	if treated.N < 2 || holdout.N < 2 {
		return lift
	}
	a, b := treated.Variance/float64(treated.N), holdout.Variance/float64(holdout.N)
	se := math.Sqrt(a + b)
	if se == 0 {
		lift.Low, lift.High = d, d
		lift.Significant = d != 0
		return lift
	}
	df := (a + b) * (a + b) / (a*a/float64(treated.N-1) + b*b/float64(holdout.N-1))
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-Confidence)/2)
	lift.Low, lift.High = d-t*se, d+t*se
	lift.Significant = lift.Low > 0 || lift.High < 0
	return lift
}

// Power is the chance the comparison detects a true lift of the stated size.
const Power = 0.8

// SampleSize is how many customers each group needs for a two-sided 95%
// test to detect a rise of lift (in rate points) over the base rate with
// 80% power (the normal approximation for two proportions).
func SampleSize(base, lift float64) int {
	p1, p2 := base+lift, base
	if lift == 0 || p1 <= 0 || p1 >= 1 || p2 <= 0 || p2 >= 1 {
		return 0
	}
	zb := distuv.UnitNormal.Quantile(Power)
	pbar := (p1 + p2) / 2
	n := math.Pow(z*math.Sqrt(2*pbar*(1-pbar))+zb*math.Sqrt(p1*(1-p1)+p2*(1-p2)), 2) / (lift * lift)
	return int(math.Ceil(n))
}
