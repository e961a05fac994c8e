package spreadsheet_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/adapters/spreadsheet"
)

var now = time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)

func TestSampleLedgerImports(t *testing.T) {
	f, err := os.Open("../../../infra/seed/customers.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cs, err := spreadsheet.Customers(f, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 10 {
		t.Fatalf("%d customers", len(cs))
	}
	c5 := cs[4]
	if c5.ID != "C005" || c5.BirthdayMD != "02-29" || !c5.Consent.LINE || c5.PreferredChannel != "" {
		t.Errorf("C005 = %+v", c5)
	}
	if cs[6].Consent.Email {
		t.Error("C007 withdrew email consent but imported with it")
	}

	o, err := os.Open("../../../infra/seed/orders.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	orders, err := spreadsheet.Orders(o, now)
	if err != nil {
		t.Fatal(err)
	}
	var today int
	for _, ord := range orders {
		if ord.OrderedAt.Equal(now) {
			today++
		}
	}
	if len(orders) != 28 || today != 8 {
		t.Errorf("%d orders, %d of them today; want 28 and 8", len(orders), today)
	}
}

func TestOrderLinesGroupIntoOrders(t *testing.T) {
	csv := "\ufefforder_id,customer_id,ordered_at,item_name,quantity,price,referral_code\n" +
		"O1,C1,2026-11-01,マグカップ,2,\"3,800\",K7Q2MX\n" +
		"O1,C1,2026-11-01,手ぬぐい,1,1500,\n" +
		"O2,C2,2026-11-02T10:00:00+09:00,皿,1,12000,\n"
	orders, err := spreadsheet.Orders(strings.NewReader(csv), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 2 || orders[0].Total != 9100 || len(orders[0].Items) != 2 {
		t.Fatalf("orders = %+v", orders)
	}
	if orders[0].ReferralCode != "K7Q2MX" || orders[1].ReferralCode != "" {
		t.Errorf("referral codes = %q, %q; want the first line's code on O1 only", orders[0].ReferralCode, orders[1].ReferralCode)
	}
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	if !orders[0].OrderedAt.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, tokyo)) {
		t.Errorf("a date without a time is midnight in Tokyo: %v", orders[0].OrderedAt)
	}
}

func TestBadSpreadsheetsNameTheLine(t *testing.T) {
	tests := []struct {
		name, csv string
		customers bool
		want      string
	}{
		{"missing column", "order_id,price\nO1,5\n", false, `no "customer_id" column`},
		{"bad quantity", "order_id,customer_id,quantity,price\nO1,C1,1,5\nO2,C1,two,5\n", false, `line 3: quantity "two"`},
		{"bad date", "order_id,customer_id,ordered_at,price\nO1,C1,23/11/2026,5\n", false, "line 2: ordered_at"},
		{"bad consent", "customer_id,email,email_consent\nC1,a@b.jp,yes please\n", true, `line 2: email_consent`},
		{"bad birthday", "customer_id,birthday\nC1,1990-13-40\n", true, "line 2: birthday"},
		{"bad channel", "customer_id,preferred_channel\nC1,fax\n", true, `line 2: preferred_channel "fax"`},
		{"bad timezone", "customer_id,timezone\nC1,Mars/Base\n", true, "line 2: timezone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.customers {
				_, err = spreadsheet.Customers(strings.NewReader(tt.csv), now)
			} else {
				_, err = spreadsheet.Orders(strings.NewReader(tt.csv), now)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// Rows that would overflow a total, or ids that would collide in message
// keys, are refused with their line.
func TestHostileRowsAreRefused(t *testing.T) {
	for _, src := range []string{
		"order_id,customer_id,quantity,price\nO1,C1,9223372036854775807,9223372036854775807\n",
		"order_id,customer_id,quantity,price\nO1,C1,2,5000000000\nO1,C1,2,5000000000\n",
		"order_id,customer_id,price\nO|1,C1,100\n",
	} {
		if _, err := spreadsheet.Orders(strings.NewReader(src), time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)); err == nil {
			t.Errorf("orders accepted:\n%s", src)
		}
	}
	if _, err := spreadsheet.Customers(strings.NewReader("customer_id,name\n\"C\r\n1\",a\n"), time.Now()); err == nil {
		t.Error("a customer id with a line break was accepted")
	}
}
