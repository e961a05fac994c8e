package render_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/templates"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current templates")

// The shipped thank-yous, rendered for every rank and channel, as a customer
// receives them. A template change shows up here as a diff to review; refresh
// with `go test ./shared/render -update`.
func TestShippedThankYousGolden(t *testing.T) {
	content, err := content.LoadContent(templates.FS)
	if err != nil {
		t.Fatal(err)
	}
	order := &customer.Order{ID: "O-2001", Total: 12600, OrderedAt: time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC),
		Items: []customer.Item{{Name: "益子焼 ピッチャー", Quantity: 1, Price: 8800}, {Name: "手ぬぐい", Quantity: 2, Price: 1900}}}
	for _, r := range append(content.Rules.Ranks, rank.Rule{ID: "unknown-rank"}) {
		for _, ch := range []customer.Channel{customer.Email, customer.LINE} {
			name := "thank-you-" + r.ID + "-" + string(ch)
			t.Run(name, func(t *testing.T) {
				rk := rank.Rank{ID: r.ID}
				out, err := content.Templates.Render(message.ThankYou, rk, ch, render.Data{
					Customer: &customer.Customer{ID: "C1", Name: "佐藤 花子"}, RankID: r.ID, RankLabel: content.Rules.Label(rk),
					Order: order, Shop: content.Shop,
				})
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				got.WriteString("template: " + out.Template + "\n")
				if out.Email != nil {
					got.WriteString("subject: " + out.Email.Subject + "\n\n--- text ---\n" + out.Email.Text + "\n--- html ---\n" + out.Email.HTML)
				} else if out.LINE.Text != "" {
					got.WriteString("--- LINE text ---\n" + out.LINE.Text + "\n")
				} else {
					got.WriteString("--- LINE flex ---\n")
					_ = json.Indent(&got, out.LINE.Flex, "", "  ")
					got.WriteString("\n")
				}
				if !strings.Contains(got.String(), "佐藤 花子") {
					t.Error("the message does not greet the customer by name")
				}
				path := filepath.Join("testdata", name+".golden")
				if *update {
					if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(got.Bytes(), want) {
					t.Errorf("%s differs from the rendered message; review and run `go test ./shared/render -update`", path)
				}
			})
		}
	}
}
