package spreadsheet_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/daifuku/daifuku/shared/adapters/spreadsheet"
)

// FuzzSpreadsheets: a shop's CSV either imports into valid records or fails
// with an error; it never panics.
func FuzzSpreadsheets(f *testing.F) {
	for _, file := range []string{"../../../infra/seed/customers.csv", "../../infra/seed/orders.csv"} {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte("order_id,customer_id,price\nO1,C1,\"1,000\"\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if orders, err := spreadsheet.Orders(bytes.NewReader(src), now); err == nil {
			for _, o := range orders {
				if err := o.Validate(); err != nil {
					t.Fatalf("imported an invalid order: %v", err)
				}
			}
		}
		if cs, err := spreadsheet.Customers(bytes.NewReader(src), now); err == nil {
			for _, c := range cs {
				if c.ID == "" {
					t.Fatal("imported a customer without an id")
				}
			}
		}
	})
}
