/* Exits with status 0 through a thread-local variable, so the binary has PT_TLS. */
#include <unistd.h>

_Thread_local int counter = 42;

int main(void)
{
	_exit(counter - 42);
}
