module xaa.example/debugconsole

go 1.26.0

replace xaa.example/shared => ../shared

require (
	github.com/a-h/templ v0.3.977
	github.com/beevik/etree v1.8.1
	github.com/go-jose/go-jose/v4 v4.1.8
	xaa.example/shared v0.0.0-00010101000000-000000000000
)

require (
	github.com/crewjam/saml v0.6.3 // indirect
	github.com/jinzhu/inflection v1.0.0 // indirect
	github.com/jinzhu/now v1.1.5 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/russellhaering/goxmldsig v1.6.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	gorm.io/gorm v1.31.2 // indirect
)
