#include <stddef.h>
#include <stdint.h>
char *swift_demangle(const char *name, size_t len, char *buf, size_t *buflen, uint32_t flags);
char *swift_demangle(const char *name, size_t len, char *buf, size_t *buflen, uint32_t flags)
{
	return NULL;
}
