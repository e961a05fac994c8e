package experiment_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/domain/experiment"
)

func TestSharesAndNonsense(t *testing.T) {
	var d experiment.Design
	if err := yaml.Unmarshal([]byte("holdout: 10%\nvariants:\n  - {template: step/a, weight: 60}\n  - {template: step/b, weight: 40}\n"), &d); err != nil {
		t.Fatal(err)
	}
	if d.Holdout != 0.1 {
		t.Errorf("holdout %v", d.Holdout)
	}
	exists := func(t string) bool { return t != "step/none" }
	if w, err := d.Check(exists); err != nil || len(w) != 0 {
		t.Errorf("a sound design: %v %v", w, err)
	}
	for name, c := range map[string]struct {
		d    experiment.Design
		want string
	}{
		"100% holdout":       {experiment.Design{Holdout: 1}, "nobody would get"},
		"one variant":        {experiment.Design{Variants: []experiment.Variant{{"step/a", 100}}}, "one variant"},
		"weights off":        {experiment.Design{Variants: []experiment.Variant{{"step/a", 50}, {"step/b", 40}}}, "add up to 90"},
		"a missing template": {experiment.Design{Variants: []experiment.Variant{{"step/a", 50}, {"step/none", 50}}}, "does not exist"},
		"a zero weight":      {experiment.Design{Variants: []experiment.Variant{{"step/a", 100}, {"step/b", 0}}}, "weight 0"},
		"the same one twice": {experiment.Design{Variants: []experiment.Variant{{"step/a", 50}, {"step/a", 50}}}, "twice"},
	} {
		if _, err := c.d.Check(exists); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", name, err, c.want)
		}
	}
	if w, err := (experiment.Design{Holdout: 0.6}).Check(exists); err != nil || len(w) != 1 {
		t.Errorf("a 60%% holdout: warnings %v, err %v", w, err)
	}
	for _, bad := range []string{"110%", "-5%", "lots", "NaN"} {
		if _, err := experiment.ParseShare(bad); err == nil {
			t.Errorf("share %q accepted", bad)
		}
	}
}

// A customer's lot is the same every time, and the shares come out as
// designed across many customers.
func TestLotsAreStableAndFair(t *testing.T) {
	d := experiment.Design{Holdout: 0.1, Variants: []experiment.Variant{{"step/a", 70}, {"step/b", 30}}}
	held, a := 0, 0
	const n = 20000
	for i := range n {
		id := fmt.Sprintf("C%05d", i)
		lot := d.Draw(id, "plan:new@2/step:1")
		if again := d.Draw(id, "plan:new@2/step:1"); again != lot {
			t.Fatalf("%s drew %+v, then %+v", id, lot, again)
		}
		switch {
		case lot.HeldOut:
			held++
		case lot.Template == "step/a":
			a++
		}
	}
	if share := float64(held) / n; math.Abs(share-0.1) > 0.01 {
		t.Errorf("held out %.3f, want 0.10", share)
	}
	if share := float64(a) / float64(n-held); math.Abs(share-0.7) > 0.015 {
		t.Errorf("variant a %.3f of those sent, want 0.70", share)
	}
	// Another test draws its own lots.
	same := 0
	for i := range 1000 {
		id := fmt.Sprintf("C%05d", i)
		if d.Draw(id, "plan:new@2/step:1").HeldOut && d.Draw(id, "campaign:winter").HeldOut {
			same++
		}
	}
	if same > 30 { // about 10 expected by chance
		t.Errorf("%d of 1,000 held out of both tests: the lots are not independent", same)
	}
}
