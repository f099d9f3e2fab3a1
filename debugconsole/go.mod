module xaa.example/debugconsole

go 1.26.0

replace xaa.example/shared => ../shared

require (
	github.com/a-h/templ v0.3.977
	github.com/beevik/etree v1.8.1
	github.com/go-jose/go-jose/v4 v4.1.8
	xaa.example/shared v0.0.0-00010101000000-000000000000
)

require github.com/google/go-cmp v0.7.0 // indirect
