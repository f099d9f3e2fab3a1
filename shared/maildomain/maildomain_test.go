package maildomain

import "testing"

func TestList(t *testing.T) {
	for _, tt := range []struct {
		name  string
		list  List
		email string
		want  bool
	}{
		{name: "at a listed domain", list: List{"tables.fake"}, email: "bob@tables.fake", want: true},
		{name: "case does not matter", list: List{"Tables.Fake"}, email: "Bob@TABLES.fake", want: true},
		{name: "another domain", list: List{"tables.fake"}, email: "bob@tables.fake2", want: false},
		{name: "a subdomain is another domain", list: List{"tables.fake"}, email: "bob@evil.tables.fake", want: false},
		{name: "a domain that ends like it", list: List{"tables.fake"}, email: "bob@eviltables.fake", want: false},
		{name: "the last @ counts", list: List{"tables.fake"}, email: "bob@tables.fake@evil.test", want: false},
		{name: "no list: any address", list: nil, email: "ann@anywhere.test", want: true},
		{name: "no list: not an address", list: nil, email: "ann", want: false},
		{name: "no domain", list: List{"tables.fake"}, email: "bob@", want: false},
		{name: "nothing before @", list: List{"tables.fake"}, email: "@tables.fake", want: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.list.Has(tt.email); got != tt.want {
				t.Errorf("%v.Has(%q) = %v, want %v", tt.list, tt.email, got, tt.want)
			}
		})
	}
}
