package spreadsheet_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/daifuku/daifuku/shared/adapters/spreadsheet"
	"github.com/daifuku/daifuku/shared/domain/customer"
)

// FuzzSpreadsheets: a shop's CSV either imports into valid records or fails
// with an error; it never panics.
func FuzzSpreadsheets(f *testing.F) {
	for _, file := range []string{"../../../infra/seed/customers.csv", "../../../infra/seed/orders.csv"} {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Add([]byte("order_id,customer_id,price\nO1,C1,\"1,000\"\n"))
	f.Add([]byte("order_id,customer_id,quantity,price\nO1,C1,9223372036854775807,9223372036854775807\nO|1,C1,1,1\n"))
	f.Add([]byte("customer_id,name\nC1|x,a\n"))
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
				if err := customer.ValidID("customer_id", c.ID); err != nil {
					t.Fatalf("imported a customer with a bad id: %v", err)
				}
			}
		}
	})
}
