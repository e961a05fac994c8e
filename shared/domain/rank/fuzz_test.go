package rank_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/rank"
)

// FuzzParseRules: any input either parses into rules that rank every customer,
// or fails with a ValidationError; it never panics.
func FuzzParseRules(f *testing.F) {
	src, _ := os.ReadFile("../../../templates/ranks.yaml")
	f.Add(src)
	f.Add([]byte("ranks:\n  - id: a\n    when: [total_spend >= 1_000]\n  - id: b\n"))
	f.Add([]byte("ranks: [{id: x, when: []}]"))
	f.Fuzz(func(t *testing.T, src []byte) {
		rules, err := rank.ParseRules("ranks.yaml", src)
		if err != nil {
			var ve *rank.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error is not a ValidationError: %v", err)
			}
			return
		}
		c := &customer.Customer{Purchases: customer.Purchases{TotalSpend: 5000, Count: 2}}
		if r := rank.Evaluate(rules, c, time.Now()); r.ID == "" {
			t.Fatal("a customer was left without a rank")
		}
	})
}
