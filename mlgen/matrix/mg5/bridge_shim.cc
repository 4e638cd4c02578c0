// mlgen's C interface to a MadGraph5_aMC@NLO CUDACPP process (the Bridge that MadEvent calls
// through fbridge.cc), compiled against the process's headers and linked to its libraries.
//
// Differences from fbridge.cc: the parameter card is named explicitly (not looked for relative to
// the working directory), errors come back as a message instead of an exception crossing into C,
// several batch sizes share one process, and, for a multichannel (.mad) build, the matrix element
// comes back without the single-diagram enhancement, with the enhancement weight beside it.
//
// Momenta are in the Fortran/AOS layout p[event][particle][E, px, py, pz], float64, GeV.
//
// Every channel's enhancement weight in one call (mlgen_mg5_diagrams): mlgen's build adds one line
// after each amplitude's numerator/denominator update in CPPProcess.cc (build.py's
// _patch_diagram_sums) that adds |amp|^2 of diagram N (N = 0: the denominator, the sum over all) to
// mlgen_diagram_sums[event * mlgen_diagram_stride + N] while that pointer is set. The sums run over
// the helicities the code sums, so diagram N's sum over the denominator is exactly the SDE weight
// that the code gives for channel id N, for all N at once.

#include "Bridge.h"
#include "CPPProcess.h"
#include "mgOnGpuConfig.h"
#ifdef MGONGPUCPP_GPUIMPL
#include "GpuRuntime.h"
#endif

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef MGONGPUCPP_GPUIMPL
using namespace mg5amcGpu;
#else
using namespace mg5amcCpu;
#endif

// set only for the duration of an mlgen_mg5_diagrams call (the patched CPPProcess.cc reads them)
double* mlgen_diagram_sums = nullptr;
int mlgen_diagram_stride = 0;

namespace
{
  struct Process
  {
    std::string subprocessDir; // where the Bridge finds ../../Cards/param_card.dat
    std::string paramCard;     // the card the parameters are read from
    std::map<int, std::unique_ptr<Bridge<double>>> bridges; // one per batch size
    std::map<int, bool> filtered;                          // batch sizes whose helicities are filtered
  };

  // Unsets the diagram sums' pointer however the call ends.
  struct DiagramSums
  {
    DiagramSums( double* sums, int stride )
    {
      mlgen_diagram_sums = sums;
      mlgen_diagram_stride = stride;
    }
    ~DiagramSums() { mlgen_diagram_sums = nullptr; }
  };

  void setError( char* err, int errlen, const std::string& what )
  {
    if( err != nullptr && errlen > 0 ) std::snprintf( err, errlen, "%s", what.c_str() );
  }

  // The Bridge reads the directory's card relative to the working directory: construct it from
  // the subprocess directory, then read the card mlgen was given (CPPProcess::initProc sets the
  // process-wide parameters that every Bridge uses).
  Bridge<double>& bridgeFor( Process& proc, int nevt )
  {
    auto found = proc.bridges.find( nevt );
    if( found != proc.bridges.end() ) return *found->second;
    std::vector<char> cwd( 4096 );
    if( getcwd( cwd.data(), cwd.size() ) == nullptr ) throw std::runtime_error( "cannot read the working directory" );
    if( chdir( proc.subprocessDir.c_str() ) != 0 ) throw std::runtime_error( "cannot enter " + proc.subprocessDir );
    std::unique_ptr<Bridge<double>> bridge;
    try
    {
      bridge.reset( new Bridge<double>( nevt, CPPProcess::npar, CPPProcess::np4 ) );
    }
    catch( ... )
    {
      if( chdir( cwd.data() ) != 0 ) {}
      throw;
    }
    if( chdir( cwd.data() ) != 0 ) throw std::runtime_error( "cannot return to the working directory" );
    CPPProcess process( false );
    process.initProc( proc.paramCard );
    Bridge<double>& ref = *bridge;
    proc.bridges[nevt] = std::move( bridge );
    return ref;
  }
}

extern "C"
{
  // Sizes of the process: npar, ncomb (helicity combinations), ndiagrams, ncolor (leading colour
  // flows), the batch multiple (SIMD vector, or GPU warp), whether the build is multichannel.
  void mlgen_mg5_info( int* npar, int* ncomb, int* ndiagrams, int* ncolor, int* multiple, int* multichannel )
  {
    *npar = CPPProcess::npar;
    *ncomb = CPPProcess::ncomb;
    *ndiagrams = CPPProcess::ndiagrams;
    *ncolor = CPPProcess::ncolor;
#ifdef MGONGPUCPP_GPUIMPL
    *multiple = 32;
#else
    *multiple = neppV > MemoryAccessMomenta::neppM ? neppV : MemoryAccessMomenta::neppM;
#endif
#ifdef MGONGPU_SUPPORTS_MULTICHANNEL
    *multichannel = 1;
#else
    *multichannel = 0;
#endif
  }

  // A process reading its parameters from param_card; nullptr (and a message in err) on failure.
  void* mlgen_mg5_create( const char* subprocessDir, const char* paramCard, char* err, int errlen )
  {
    try
    {
#ifdef MGONGPUCPP_GPUIMPL
      GpuRuntime::setUp();
#endif
      std::unique_ptr<Process> proc( new Process );
      proc->subprocessDir = subprocessDir;
      proc->paramCard = paramCard;
      CPPProcess process( false );
      process.initProc( proc->paramCard );
      return proc.release();
    }
    catch( const std::exception& e )
    {
      setError( err, errlen, e.what() );
    }
    catch( ... )
    {
      setError( err, errlen, "unknown C++ exception" );
    }
    return nullptr;
  }

  void mlgen_mg5_destroy( void* handle )
  {
    delete static_cast<Process*>( handle );
  }

  // |M|^2 of nevt events (nevt a multiple of the batch multiple). gs: sqrt(4 pi alpha_s) per
  // event; rndhel, rndcol: uniform numbers in [0, 1) per event; channels: diagram ids (1-based,
  // the same within each batch multiple), or nullptr. Out: me (without enhancement), sde (the
  // single-diagram-enhancement weight, only with channels), selhel (1-based helicity
  // combination), selcol (1-based colour flow; 0 without channels). Returns 0, or -1 with err set.
  int mlgen_mg5_evaluate( void* handle, int nevt, const double* momenta, const double* gs, const double* rndhel,
                          const double* rndcol, const unsigned int* channels, double* me, double* sde, int* selhel,
                          int* selcol, char* err, int errlen )
  {
    try
    {
#ifndef MGONGPU_SUPPORTS_MULTICHANNEL
      if( channels != nullptr ) throw std::runtime_error( "channel ids given to a build without multichannel support (a .sa directory)" );
#endif
      Bridge<double>& bridge = bridgeFor( *static_cast<Process*>( handle ), nevt );
      const bool goodHelOnly = false;
#ifdef MGONGPU_SUPPORTS_MULTICHANNEL
      if( channels != nullptr )
      {
        std::vector<int> selhelEnhanced( nevt );
#ifdef MGONGPUCPP_GPUIMPL
        bridge.gpu_sequence( momenta, gs, rndhel, rndcol, channels, nullptr, sde, selhelEnhanced.data(), selcol, goodHelOnly );
#else
        bridge.cpu_sequence( momenta, gs, rndhel, rndcol, channels, nullptr, sde, selhelEnhanced.data(), selcol, goodHelOnly );
#endif
      }
#endif
      std::vector<int> selcolPlain( nevt );
#ifdef MGONGPUCPP_GPUIMPL
      bridge.gpu_sequence( momenta, gs, rndhel, rndcol, nullptr, nullptr, me, selhel, selcolPlain.data(), goodHelOnly );
#else
      bridge.cpu_sequence( momenta, gs, rndhel, rndcol, nullptr, nullptr, me, selhel, selcolPlain.data(), goodHelOnly );
#endif
      if( channels == nullptr )
      {
        std::memset( selcol, 0, nevt * sizeof( int ) );
        for( int i = 0; i < nevt; ++i ) sde[i] = 1.0;
      }
      else
      {
        // the enhanced matrix element is me * numerator / denominator: keep the ratio
        for( int i = 0; i < nevt; ++i ) sde[i] = me[i] > 0 ? sde[i] / me[i] : 0.0;
      }
      return 0;
    }
    catch( const std::exception& e )
    {
      setError( err, errlen, e.what() );
    }
    catch( ... )
    {
      setError( err, errlen, "unknown C++ exception" );
    }
    return -1;
  }

  // |M|^2 (without enhancement) of nevt events and, in sums[nevt][ndiagrams + 1], every diagram's
  // |amplitude|^2 summed over helicities (column N for diagram N, column 0 their total): one
  // evaluation of the code for every channel's enhancement weight. Needs a build whose
  // CPPProcess.cc mlgen patched (a .mad directory; C++ backends). Returns 0, or -1 with err set.
  int mlgen_mg5_diagrams( void* handle, int nevt, const double* momenta, const double* gs, const double* rndhel,
                          const double* rndcol, double* me, double* sums, int* selhel, char* err, int errlen )
  {
    try
    {
#ifdef MGONGPUCPP_GPUIMPL
      throw std::runtime_error( "diagram sums are not available on the GPU backend" );
#else
      Process& proc = *static_cast<Process*>( handle );
      Bridge<double>& bridge = bridgeFor( proc, nevt );
      std::vector<int> selcol( nevt );
      if( !proc.filtered[nevt] )
      {
        // the first call of a Bridge filters the helicities (evaluating the amplitudes once more):
        // run it without the sums
        bridge.cpu_sequence( momenta, gs, rndhel, rndcol, nullptr, nullptr, me, selhel, selcol.data(), false );
        proc.filtered[nevt] = true;
      }
      const int stride = CPPProcess::ndiagrams + 1;
      std::memset( sums, 0, sizeof( double ) * nevt * stride );
      DiagramSums active( sums, stride );
      bridge.cpu_sequence( momenta, gs, rndhel, rndcol, nullptr, nullptr, me, selhel, selcol.data(), false );
      return 0;
#endif
    }
    catch( const std::exception& e )
    {
      setError( err, errlen, e.what() );
    }
    catch( ... )
    {
      setError( err, errlen, "unknown C++ exception" );
    }
    return -1;
  }
}
