/*
 * A stand-in for Windows' bcryptprimitives.dll, for running PortForward's Windows build under
 * Wine 8 (Debian 12), which lacks the DLL. Rust's standard library (1.78+) takes its random
 * numbers (HashMap keys) from bcryptprimitives!ProcessPrng; without the DLL no Rust program
 * starts. Windows 10 and later have the real one, so this is for CI only and never shipped.
 *
 * ProcessPrng fills the buffer from the system's preferred generator (bcrypt!BCryptGenRandom,
 * which Wine has) and, like the real one, always returns TRUE: it cannot fail on Windows, and
 * std aborts if it does. BCryptGenRandom takes a ULONG length, so larger buffers go in chunks.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
            /* Nothing sensible to return: the real function never fails. */
            ExitProcess(0xC0000001u);
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
