package render_test

import (
	"testing"
	"time"

	"github.com/daifuku/daifuku/shared/adapters/content"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/templates"
)

// BenchmarkRender is the rendering share of the sender path: the royal
// thank-you (an HTML email, a Flex message) with a three-item order.
func BenchmarkRender(b *testing.B) {
	content, err := content.LoadContent(templates.FS)
	if err != nil {
		b.Fatal(err)
	}
	d := render.Data{Customer: &customer.Customer{ID: "C1", Name: "佐藤 花子"}, RankID: "royal", RankLabel: "ロイヤル顧客",
		Order: &customer.Order{ID: "O1", Total: 20400, OrderedAt: time.Now(), Items: []customer.Item{
			{Name: "益子焼 ピッチャー", Quantity: 1, Price: 8800}, {Name: "手ぬぐい", Quantity: 2, Price: 1900}, {Name: "八女茶", Quantity: 1, Price: 7800}}},
		Shop: content.Shop}
	for _, ch := range []customer.Channel{customer.Email, customer.LINE} {
		b.Run(string(ch), func(b *testing.B) {
			for b.Loop() {
				if _, err := content.Templates.Render(message.ThankYou, rank.Rank{ID: "royal"}, ch, d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadContent is the cold-start share: parse and check every template.
func BenchmarkLoadContent(b *testing.B) {
	for b.Loop() {
		render.ForgetParsed()
		if _, err := content.LoadContent(templates.FS); err != nil {
			b.Fatal(err)
		}
	}
}
